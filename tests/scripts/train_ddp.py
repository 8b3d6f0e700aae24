"""Train a tiny tagger on the synthetic task (tag = token id % 3) on however many processes this was launched with.

Run: `torchrun --nproc_per_node 2 tests/scripts/train_ddp.py OUT` (or plain `python`, for one process); `--n_acc` and
`--precision` add gradient accumulation and mixed precision (float16 with a gradient scaler works on CPU processes too).
Each process writes OUT/rank{i}.safetensors (final weights) and OUT/rank{i}.json (history, the training
sentences it saw each epoch, the validation count, the optimizer steps, the fit's wall time)."""
import argparse, json, time
from pathlib import Path
import torch
from safetensors.torch import save_file
from transformers import BertConfig
from ft_nb.core import set_seed
from ft_nb.models import token_classifier, encoder_from_config
from ft_nb.data.load import make_loader
from ft_nb.learner import Learner, Callback, MetricsCB, MixedPrecisionCB
from ft_nb.callbacks.schedule import AccumulateCB
from ft_nb.callbacks.accelerate import AccelerateCB, make_accelerator

def synthetic_items(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        ids = torch.randint(5, 120, (int(torch.randint(4, 16, (1,), generator=g)),), generator=g).tolist()
        items.append(dict(input_ids=ids, labels=[t % 3 for t in ids], sent_idx=i))
    return items

class TokenAccuracy:
    name = 'accuracy'
    def reset(self): self.correct, self.total = torch.tensor(0), torch.tensor(0)
    def update(self, learn):
        real = learn.labels != -100
        self.correct += (learn.preds['logits'].argmax(-1)[real] == learn.labels[real]).sum(); self.total += real.sum()
    def compute(self): return {'accuracy': float(self.correct / self.total)}

class Seen(Callback):
    "Record the training sentences of each epoch."
    def __init__(self): self.seen = []
    def before_epoch(self, learn):
        if learn.training: self.seen.append([])
    def before_batch(self, learn):
        if learn.training: self.seen[-1] += learn.batch['sent_idx']

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('out'); p.add_argument('--epochs', type=int, default=2); p.add_argument('--bs', type=int, default=16, help='global batch size')
    p.add_argument('--hidden', type=int, default=32); p.add_argument('--layers', type=int, default=2); p.add_argument('--n_train', type=int, default=256); p.add_argument('--lr', type=float, default=3e-4)
    p.add_argument('--n_acc', type=int, default=1, help='batches per optimizer step'); p.add_argument('--precision', choices=['no', 'fp16', 'bf16'], default='no')
    a = p.parse_args()
    acc = make_accelerator()
    cfg = BertConfig(vocab_size=120, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=2, intermediate_size=2 * a.hidden, max_position_embeddings=32)
    set_seed(0); model = token_classifier(['a', 'b', 'c'], encoder_from_config(cfg))
    train_dl = make_loader(synthetic_items(a.n_train), 0, a.bs // acc.num_processes, seed=0) # sharded by AccelerateCB
    valid_dl = make_loader(synthetic_items(64, seed=1), 0, 32 // acc.num_processes, shuffle=False)
    seen, metrics = Seen(), MetricsCB(TokenAccuracy())
    extra = ([AccumulateCB(a.n_acc)] if a.n_acc > 1 else []) + ([] if a.precision == 'no' else
             [MixedPrecisionCB(acc.device, {'fp16': torch.float16, 'bf16': torch.bfloat16}[a.precision])])
    learn = Learner(model, train_dl, valid_dl, lr=a.lr, cbs=[AccelerateCB(acc), metrics, seen, *extra])
    start = time.perf_counter(); learn.fit(a.epochs); fit_time = time.perf_counter() - start
    out, i = Path(a.out), acc.process_index
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in learn.model.state_dict().items()}, out/f'rank{i}.safetensors')
    res = dict(num_processes=acc.num_processes, rank=i, threads=torch.get_num_threads(), fit_time=fit_time, seen=seen.seen,
               valid_count=metrics.valid_loss.count, steps=int(next(iter(learn.opt.state.values()))['step']), history=[{k: v for k, v in r.items() if k != 'time'} for r in learn.history])
    (out/f'rank{i}.json').write_text(json.dumps(res))
    acc.wait_for_everyone(); acc.end_training() # a process group left to interpreter exit can abort there ('terminate called without an active exception')
