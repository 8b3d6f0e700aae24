"""Document context (FLERT-style): what it costs and what it buys, at context 0/16/32/64 words on each side.

    python bench/context.py [--contexts 0,64] [--seeds 42] [--n 3000] [--epochs 2] [--lr 1e-4] [--bs 32] [--max-len 128]
                            [--dropout 0] [--marker] [--eval-contexts 0] [--threads 2] [--out bench/results/context.json]

Fine-tunes the bundled MiniLM on the whole documents among the first `--n` CoNLL-2003 training sentences (2,994 of the
first 3,000), once per context size and seed, one run after the other in this process, with ft-nb's `Learner` and the
callbacks of `fine_tune` minus checkpoints and progress (linear schedule with 10% warmup, clipping at 1, AdamW weight
decay 0.01, oneDNN linear layers, `TokenWeightCB` unless `--no-token-weight`). Training and validation items are encoded by the same `Aligner(context=N)`: context
words of the same document on each side, as many as fit in `--max-len` tokens (the item's length: lower it to cap what
the context costs; sentences longer than it are cut into windows, as always), labelled -100. The model after the last
epoch is scored on the whole validation file (strict and lenient IOB2 entity F1 on words, `evaluate_ner`, constrained
Viterbi); `--eval-contexts 0` scores it again without context, as `transformers.pipeline` runs it.

Reported per run: tokens per training and validation item (mean), training tokens per epoch once padded (as bucketed
without dropout, and as each epoch really fed them), seconds per training epoch (the mean of the epochs; wall and CPU
seconds, and the load average at the end), evaluation seconds, strict and lenient F1. `--dropout p` adds
`ContextDropoutCB(p)` (FLERT's context dropout); `--marker` puts the tokenizer's `[SEP]` between context and sentence.
Results are merged into `--out` (one entry per setting and seed, so runs can be added one at a time, one per
invocation on a shared machine's queue; each records its `invocation`, the time this process started: an entry of an
earlier invocation that a new run replaces is kept as `key@invocation`); tutorial 05 sets each run's time against the
context 0 run of its seed. The predicted tags of seed 42 on the validation file go next to it (`context_preds.json.gz`),
for the examples of the tutorial."""
import argparse, gzip, json, os, time
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--train', default=str(d/'train.txt') if d else None); p.add_argument('--valid', default=str(d/'valid.txt') if d else None)
    p.add_argument('--contexts', default='0,64', help="comma-separated context sizes, in words on each side")
    p.add_argument('--seeds', default='42'); p.add_argument('--n', type=int, default=3000, help="training sentences: whole documents within the first N")
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--max-len', type=int, default=128); p.add_argument('--dropout', type=float, default=0.)
    p.add_argument('--marker', action='store_true', help="the tokenizer's sep token between context and sentence")
    p.add_argument('--no-token-weight', dest='token_weight', action='store_false',
                   help="leave out `TokenWeightCB` (the NER recipe's since it was added; the runs before it had none)")
    p.add_argument('--threads', type=int, default=2); p.add_argument('--model', default=None)
    p.add_argument('--out', default='bench/results/context.json')
    p.add_argument('--time-batches', type=int, default=0, help="cost only: time this many training batches per context (no F1), "
                   "interleaved over --repeat rounds; results go to context_cost.json beside --out")
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--eval-contexts', default='', help="comma-separated contexts at which the trained model is also scored "
                   "(e.g. 0: the model as `transformers.pipeline` runs it, sentence by sentence)")
    p.add_argument('--tokens-only', action='store_true', help="cost only: tokens per item and padded tokens per epoch per context, "
                   "with and without --dropout, from encoding alone (no training); merged into context_tokens.json beside --out")
    args = p.parse_args(argv)
    if not (args.train and args.valid): p.error("give --train and --valid (no shared/data/conll2003 found)")
    return args

def run_key(context:int, dropout:float, marker:bool, seed:int, max_len:int=128, token_weight:bool=False)->str:
    "The name of a run in the results: its setting (the item length only where it is not 128, `_tw` with `TokenWeightCB`) and seed."
    return f"c{context}_d{dropout:g}_m{int(marker)}" + (f"_L{max_len}" if max_len != 128 else '') + ('_tw' if token_weight else '') + f"_s{seed}"

class BatchTokens:
    "Tokens each training epoch fed the model, padding included and not: the cost as context dropout really shaped it."
    order = 100
    def before_fit(self, learn): self.padded, self.real = [], []
    def before_epoch(self, learn):
        if learn.training: self.padded.append(0); self.real.append(0)
    def before_batch(self, learn):
        if learn.training: m = learn.batch['attention_mask']; self.padded[-1] += m.numel(); self.real[-1] += int(m.sum())

class EpochTimes:
    "Wall and CPU seconds of each training epoch (a Learner callback); CPU seconds compare better on a shared machine."
    order = 100
    def before_fit(self, learn): self.times, self.cpu = [], []
    def before_epoch(self, learn): self.t, self.c = time.perf_counter(), time.process_time()
    def after_epoch(self, learn):
        if learn.training: self.times.append(time.perf_counter() - self.t); self.cpu.append(time.process_time() - self.c)

def data(args):
    from ft_nb.data.conll import read_conll
    from ft_nb.data.context import first_documents
    from ft_nb.data.core import LabelVocab
    from ft_nb.models import load_tokenizer
    train, valid = first_documents(read_conll(args.train)[0], args.n), read_conll(args.valid)[0]
    return train, valid, LabelVocab.from_data(s.tags for s in train), load_tokenizer(args.model)

def one_run(args, train, valid, vocab, tok, context:int, seed:int)->tuple[dict, list]:
    "Train and score one model; its results and its predicted validation tags."
    import numpy as np, torch
    from functools import partial
    from ft_nb.core import set_seed
    from ft_nb.data.align import Aligner
    from ft_nb.data.context import ContextDropoutCB
    from ft_nb.data.load import make_loader
    from ft_nb.models import token_classifier
    from ft_nb.learner import Learner, adamw
    from ft_nb.callbacks.schedule import default_cbs, TokenWeightCB
    from ft_nb.evaluation import evaluate_ner
    marker, dropout = (tok.sep_token if args.marker else None), (args.dropout if context else 0.) # no context: nothing to drop
    aligner = lambda unknown: Aligner(tok, vocab, max_len=args.max_len, on_unknown=unknown, context=context, marker=marker)
    t = time.perf_counter(); train_items, eval_al = aligner('raise').encode(train), aligner('ignore')
    valid_items = eval_al.encode(valid); prep_s = time.perf_counter() - t
    set_seed(seed); model = token_classifier(vocab.labels, args.model)
    dl = make_loader(train_items, tok.pad_token_id, args.bs, True, seed=seed)
    times, fed = EpochTimes(), BatchTokens()
    cbs = default_cbs(progress=False) + [times, fed] + ([ContextDropoutCB(dropout, seed)] if dropout else []) + ([TokenWeightCB()] if args.token_weight else [])
    learn = Learner(model, dl, None, args.lr, cbs, opt_func=partial(adamw, weight_decay=0.01))
    learn.fit(args.epochs)
    t = time.perf_counter(); scorer, predicted = evaluate_ner(model, eval_al, valid, valid_items, 64, decoder='viterbi'); eval_s = time.perf_counter() - t
    also = {}
    for c in [int(c) for c in args.eval_contexts.split(',') if c.strip()]: # the same model, scored with other context
        al = Aligner(tok, vocab, max_len=args.max_len, on_unknown='ignore', context=c, marker=marker if c else None)
        t = time.perf_counter(); sc, _ = evaluate_ner(model, al, valid, al.encode(valid), 64, decoder='viterbi')
        also[str(c)] = dict(f1=sc.summary()['f1'], lenient_f1=sc.summary()['lenient_f1'], eval_s=time.perf_counter() - t)
    s, lens = scorer.summary(), lambda items: float(np.mean([len(it['input_ids']) for it in items]))
    padded = sum(len(b) * max(len(train_items[i]['input_ids']) for i in b) for b in dl.batch_sampler)
    res = dict(context=context, dropout=dropout, marker=args.marker, seed=seed, sentences=len(train), valid_sentences=len(valid),
               tokens_per_item=lens(train_items), valid_tokens_per_item=lens(valid_items), padded_tokens_per_epoch=padded,
               fed_padded_per_epoch=fed.padded, fed_tokens_per_epoch=fed.real, scored_at=also,
               epoch_s=times.times, epoch_s_mean=float(np.mean(times.times)), epoch_cpu_s=times.cpu, epoch_cpu_s_mean=float(np.mean(times.cpu)),
               eval_s=eval_s, prep_s=prep_s, load_avg=os.getloadavg(),
               f1=s['f1'], lenient_f1=s['lenient_f1'], precision=s.get('precision'), recall=s.get('recall'),
               threads=torch.get_num_threads(), max_len=args.max_len, epochs=args.epochs, lr=args.lr, bs=args.bs, token_weight=args.token_weight)
    return res, predicted

def time_batches(args, train, vocab, tok, context:int, n:int)->dict:
    "Tokens per item, and the wall and CPU seconds of `n` training batches (forward, backward, step) of a fresh model."
    import numpy as np, torch
    from ft_nb.core import set_seed
    from ft_nb.data.align import Aligner
    from ft_nb.data.context import drop_context
    from ft_nb.data.load import make_loader
    from ft_nb.models import token_classifier
    from ft_nb.learner import Learner, adamw, CancelFitException
    from ft_nb.callbacks.schedule import default_cbs
    items = Aligner(tok, vocab, max_len=args.max_len, context=context, marker=tok.sep_token if args.marker else None).encode(train)
    drop = np.random.default_rng(0).random(len(items)) < (args.dropout if context else 0.)
    used = [drop_context(it) if d else it for it, d in zip(items, drop)] # one epoch's items under context dropout
    set_seed(0); model = token_classifier(vocab.labels, args.model)
    dl = make_loader(used, tok.pad_token_id, args.bs, True, seed=0)
    class Stop:
        order = 200
        def before_batch(self, learn):
            if learn.iter == 1: self.t, self.c = time.perf_counter(), time.process_time() # batch 0 warms up
        def after_batch(self, learn):
            if learn.iter == n: self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.c; raise CancelFitException
    stop = Stop()
    Learner(model, dl, None, args.lr, default_cbs(progress=False) + [stop], opt_func=adamw).fit(1)
    per_epoch = len(dl) / n
    return dict(context=context, dropout=float(args.dropout if context else 0.), tokens_per_item=float(np.mean([len(it['input_ids']) for it in items])),
                tokens_per_item_dropout=float(np.mean([len(it['input_ids']) for it in used])), batches=n, batches_per_epoch=len(dl),
                epoch_s_est=stop.wall * per_epoch, epoch_cpu_s_est=stop.cpu * per_epoch)

def main_cost(args, train, vocab, tok):
    "The cost table: per context, the best of `--repeat` interleaved timings of `--time-batches` batches."
    import numpy as np
    out, runs = Path(args.out).with_name('context_cost.json'), {}
    contexts = list(map(int, args.contexts.split(',')))
    for r in range(args.repeat):
        for c in contexts:
            res = time_batches(args, train, vocab, tok, c, args.time_batches); print(r, res, flush=True)
            best = runs.get(c)
            runs[c] = res if best is None or res['epoch_cpu_s_est'] < best['epoch_cpu_s_est'] else best
    base = runs[contexts[0]]
    for res in runs.values(): res |= {'time_x_wall': res['epoch_s_est'] / base['epoch_s_est'], 'time_x_cpu': res['epoch_cpu_s_est'] / base['epoch_cpu_s_est']}
    out.write_text(json.dumps({'args': vars(args), 'runs': list(runs.values())}, indent=1))

def main_tokens(args, train, valid, vocab, tok):
    "Tokens per item and padded training tokens per epoch (batches as the bucketing sampler makes them), per context."
    import numpy as np
    from ft_nb.data.align import Aligner
    from ft_nb.data.context import drop_context
    from ft_nb.data.load import BucketBatchSampler
    def padded(items):
        L = np.array([len(it['input_ids']) for it in items])
        return int(sum(len(b) * L[b].max() for b in BucketBatchSampler(L, args.bs, True, seed=42))), float(L.mean())
    path = Path(args.out).with_name('context_tokens.json') # merged: one row per context and item length
    key = lambda r: (r['context'], r.get('max_len', 128), r.get('marker', False))
    out = {key(r): r for r in (json.loads(path.read_text()) if path.exists() else [])}
    for c in map(int, args.contexts.split(',')):
        al = lambda unknown: Aligner(tok, vocab, max_len=args.max_len, context=c, on_unknown=unknown, marker=tok.sep_token if args.marker else None)
        items, valid_items = al('raise').encode(train), al('ignore').encode(valid)
        drop = np.random.default_rng(0).random(len(items)) < args.dropout
        (p, t), (pd_, td) = padded(items), padded([drop_context(it) if d else it for it, d in zip(items, drop)])
        r = dict(context=c, max_len=args.max_len, marker=args.marker, tokens_per_item=t, padded_per_epoch=p, dropout=args.dropout,
                 tokens_per_item_dropout=td, padded_per_epoch_dropout=pd_, valid_tokens_per_item=float(np.mean([len(it['input_ids']) for it in valid_items])))
        out[key(r)] = r; print(r, flush=True)
    path.write_text(json.dumps(sorted(out.values(), key=key), indent=1))

def main(argv=None):
    import torch
    args = parse(argv); torch.set_num_threads(args.threads)
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    preds_path = out.with_name('context_preds.json.gz')
    preds = json.loads(gzip.decompress(preds_path.read_bytes())) if preds_path.exists() else {}
    train, valid, vocab, tok = data(args); started = time.strftime('%Y-%m-%dT%H:%M:%S')
    if args.time_batches: return main_cost(args, train, vocab, tok)
    if args.tokens_only: return main_tokens(args, train, valid, vocab, tok)
    for seed in map(int, args.seeds.split(',')):
        for context in map(int, args.contexts.split(',')):
            res, predicted = one_run(args, train, valid, vocab, tok, context, seed)
            key, res['invocation'] = run_key(context, res['dropout'], args.marker, seed, args.max_len, args.token_weight), started
            if key in results and results[key].get('invocation', started) != started: # a run of another invocation: kept beside
                earlier = results.pop(key); results[f"{key}@{earlier['invocation']}"] = earlier
            results[key] = res
            print(f"{key}: F1 {res['f1']:.4f} (lenient {res['lenient_f1']:.4f}), {res['tokens_per_item']:.1f} tokens/item, "
                  f"{res['epoch_s_mean']:.1f} s/epoch, eval {res['eval_s']:.1f} s", flush=True)
            out.write_text(json.dumps(results, indent=1))
            if seed == 42: preds[key] = predicted; preds_path.write_bytes(gzip.compress(json.dumps(preds).encode()))

if __name__ == '__main__': main()
