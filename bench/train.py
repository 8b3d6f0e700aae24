"""Training benchmark: ft-nb against Hugging Face `Trainer` and the source article's loop, same encoder, data and settings.

    python bench/train.py [--n 2000] [--epochs 1] [--bs 32] [--lr 5e-5] [--seeds 42] [--threads 2] [--repeat 1]
                          [--out bench/results/train.json]

Fine-tunes the same encoder (default: the bundled MiniLM) on the first `--n` CoNLL training sentences six ways, each in
its own subprocess of this script (so that each reports its own peak RSS), one after the other:

  ftnb        ft-nb's `Learner`, length-bucketed loader with dynamic padding, the callbacks of `fine_tune_ner`
              (`FastLinearCB`, linear schedule with 10% warmup, gradient clipping at 1, AdamW weight decay 0.01,
              `TokenWeightCB`, train-loss metric) minus checkpoints and progress bars;
  ftnb_nnlinear  the same without `FastLinearCB` (plain `nn.Linear`): what oneDNN's linear layers buy;
  ftnb_compile   `ftnb_nnlinear` with the encoder under `torch.compile` (inductor, dynamic shapes, forward and
              backward): the public compiled path for training, its compile time included in the training time;
  hf          `transformers.Trainer` + `DataCollatorForTokenClassification`, defaults (random batches), with the same
              lr, schedule, warmup, weight decay, clipping, batch size, epochs and seed;
  hf_group    the same with `train_sampling_strategy='group_by_length'` (v4's `group_by_length=True`);
  article     a plain PyTorch loop: every sentence padded to 128 tokens, constant LR, `torch.optim.AdamW`, no clipping.

All variants label the first subtoken of each word and -100 elsewhere, run in fp32 with `torch.set_num_threads(--threads)`,
and are scored on the validation split by the same ft-nb word-level scorer (strict and lenient entity F1). Training time
excludes reading and tokenising (done alike for all); evaluation time is reported separately. With several `--seeds`,
every variant but the (slow, constant-LR) article loop runs once per seed: speed is the best run, F1 the mean and the
spread over seeds, since after one short epoch F1 depends on the seed as much as on the loop. The parent process also
measures the machine's fp32 matmul speed (through MKL, as `torch.matmul` does, and through oneDNN) and the fraction of the
faster one each variant achieves (see `train_flops`).
Writes the results as JSON (`--out`) and a bar chart next to it (`.png`)."""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
VARIANTS = ('ftnb', 'ftnb_nnlinear', 'ftnb_compile', 'hf', 'hf_group', 'article')
LABELS = {'ftnb': 'ft-nb Learner', 'ftnb_nnlinear': 'ft-nb, nn.Linear', 'ftnb_compile': 'ft-nb, torch.compile', 'hf': 'HF Trainer (defaults)', 'hf_group': 'HF Trainer group_by_length', 'article': 'article loop (pad 128)'}

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--train', default=str(d/'train.txt') if d else None, help="CoNLL training file")
    p.add_argument('--valid', default=str(d/'valid.txt') if d else None, help="CoNLL validation file")
    p.add_argument('--n', type=int, default=2000, help="training sentences (the first N)")
    p.add_argument('--n-valid', type=int, default=0, help="validation sentences (0: all)")
    p.add_argument('--epochs', type=int, default=1); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--lr', type=float, default=5e-5)
    p.add_argument('--seeds', default='42', help="comma-separated seeds; the article loop runs with the first only")
    p.add_argument('--seed', type=int, default=42, help=argparse.SUPPRESS) # set per child from --seeds
    p.add_argument('--threads', type=int, default=2, help="torch.set_num_threads in every variant")
    p.add_argument('--model', default=None, help="encoder folder or Hub id (default: the bundled MiniLM)")
    p.add_argument('--max-len', type=int, default=128, help="the article's fixed length, and the truncation length of all")
    p.add_argument('--variants', default=','.join(VARIANTS), help="comma-separated subset of " + ','.join(VARIANTS))
    p.add_argument('--repeat', type=int, default=1, help="runs of each variant (interleaved); the fastest is reported")
    p.add_argument('--out', default='bench/results/train.json', help="JSON results; the chart goes beside it (.png)")
    p.add_argument('--no-plot', action='store_true')
    p.add_argument('--variant', help=argparse.SUPPRESS); p.add_argument('--child-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not (args.train and args.valid): p.error("give --train and --valid (no shared/data/conll2003 found)")
    return args

# ---------------------------------------------------------------- one variant, in a child process
def maxrss_mb()->float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 # Linux: KiB

def prepare(args):
    "Sentences, vocab, tokenizer, aligners and encoded items, alike for every variant."
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.data.align import Aligner
    from ft_nb.models import load_tokenizer
    train = read_conll(args.train)[0][:args.n]
    valid = read_conll(args.valid)[0]
    if args.n_valid: valid = valid[:args.n_valid]
    vocab = LabelVocab.from_data(s.tags for s in train)
    tok = load_tokenizer(args.model)
    train_al, eval_al = Aligner(tok, vocab, max_len=args.max_len), Aligner(tok, vocab, max_len=args.max_len, on_unknown='ignore')
    return dict(train=train, valid=valid, vocab=vocab, tok=tok, eval_al=eval_al,
                train_items=train_al.encode(train), valid_items=eval_al.encode(valid))

def score(forward, d, bs=64):
    "Strict/lenient F1 of `forward(input_ids, attention_mask, token_type_ids) -> logits` with ft-nb's word-level scorer."
    import torch
    from ft_nb.evaluation import EntityF1
    from ft_nb.data.load import make_loader
    metric = EntityF1(d['eval_al'], d['valid'], d['valid_items']); metric.reset()
    t = time.perf_counter()
    with torch.inference_mode():
        for batch in make_loader(d['valid_items'], d['tok'].pad_token_id, bs, shuffle=False):
            metric.update_batch(batch, forward(batch['input_ids'], batch['attention_mask'], batch.get('token_type_ids')))
    return metric.scorer.summary(), time.perf_counter() - t

def hf_model(args, vocab):
    from transformers import AutoModelForTokenClassification
    from ft_nb.models import resolve_model, quiet_transformers
    with quiet_transformers():
        return AutoModelForTokenClassification.from_pretrained(resolve_model(args.model), num_labels=len(vocab.labels),
            id2label=dict(enumerate(vocab.labels)), label2id=vocab.label2id)

def run_ftnb(args, d, fast:bool=True, compiled:bool=False):
    from functools import partial
    from ft_nb.core import set_seed
    from ft_nb.data.load import make_loader
    from ft_nb.models import token_classifier
    from ft_nb.learner import Learner, adamw, DeviceCB, MetricsCB
    from ft_nb.callbacks.schedule import ScheduleCB, GradClipCB, TokenWeightCB
    from ft_nb.learner import FastLinearCB
    set_seed(args.seed)
    model = token_classifier(d['vocab'].labels, args.model)
    if compiled: # inductor, forward and backward, one graph for all lengths (dynamic shapes); the public path, so plain nn.Linear
        import torch; model.encoder = torch.compile(model.encoder, dynamic=True)
    dl = make_loader(d['train_items'], d['tok'].pad_token_id, args.bs, True, seed=args.seed)
    padded = sum(len(b) * max(len(d['train_items'][i]['input_ids']) for i in b) for b in dl.batch_sampler) * args.epochs
    cbs = [DeviceCB(), ScheduleCB('linear', 0.1), GradClipCB(1.), TokenWeightCB(), MetricsCB()] + ([FastLinearCB()] if fast else [])
    learn = Learner(model, dl, None, args.lr, cbs, opt_func=partial(adamw, weight_decay=0.01))
    t = time.perf_counter(); learn.fit(args.epochs); train_s = time.perf_counter() - t
    rss = maxrss_mb(); model.eval()
    fwd = lambda ids, am, tt: model(input_ids=ids, attention_mask=am, token_type_ids=tt)['logits']
    return train_s, padded, rss, fwd, learn.history[-1]['train_loss']

def _hf_common(args, d, group:bool):
    import torch
    from transformers import Trainer, TrainingArguments, DataCollatorForTokenClassification, set_seed
    set_seed(args.seed)
    model = hf_model(args, d['vocab'])
    keys = [k for k in ('input_ids', 'token_type_ids', 'labels') if k in d['train_items'][0]]
    ds = [{k: it[k] for k in keys} for it in d['train_items']]
    base, padded = DataCollatorForTokenClassification(d['tok']), [0]
    def collate(feats):
        b = base(feats); padded[0] += b['input_ids'].numel(); return b
    tmp = tempfile.mkdtemp(prefix='ftnb-bench-hf-')
    targs = TrainingArguments(output_dir=tmp, per_device_train_batch_size=args.bs, num_train_epochs=args.epochs,
        learning_rate=args.lr, weight_decay=0.01, warmup_steps=0.1, max_grad_norm=1., seed=args.seed,
        lr_scheduler_type='linear', eval_strategy='no', save_strategy='no', logging_strategy='no', report_to='none',
        disable_tqdm=True, use_cpu=True, dataloader_pin_memory=False,
        **({'train_sampling_strategy': 'group_by_length'} if group else {}))
    trainer = Trainer(model=model, args=targs, train_dataset=ds, data_collator=collate, processing_class=d['tok'])
    t = time.perf_counter(); out = trainer.train(); train_s = time.perf_counter() - t
    rss = maxrss_mb(); model.eval()
    fwd = lambda ids, am, tt: model(input_ids=ids, attention_mask=am, token_type_ids=tt).logits
    return train_s, padded[0], rss, fwd, out.training_loss

def run_article(args, d):
    "The source article's loop: pad to max_len, shuffle, constant LR, plain AdamW, no clipping."
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from transformers import set_seed
    set_seed(args.seed)
    model = hf_model(args, d['vocab'])
    L, pad = args.max_len, d['tok'].pad_token_id
    ids = torch.full((len(d['train_items']), L), pad); labels = torch.full_like(ids, -100); am = torch.zeros_like(ids)
    for i, it in enumerate(d['train_items']):
        n = len(it['input_ids']); ids[i, :n] = torch.tensor(it['input_ids']); labels[i, :n] = torch.tensor(it['labels']); am[i, :n] = 1
    dl = DataLoader(TensorDataset(ids, am, torch.zeros_like(ids), labels), batch_size=args.bs, shuffle=True)
    t = time.perf_counter()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    model.train(); total = 0.
    for _ in range(args.epochs):
        for b_ids, b_am, b_tt, b_lab in dl:
            loss = model(input_ids=b_ids, attention_mask=b_am, token_type_ids=b_tt, labels=b_lab).loss
            loss.backward(); opt.step(); opt.zero_grad(); total += loss.item()
    train_s = time.perf_counter() - t
    rss = maxrss_mb(); model.eval()
    fwd = lambda i, a, tt: model(input_ids=i, attention_mask=a, token_type_ids=tt).logits
    return train_s, ids.numel() * args.epochs, rss, fwd, total / max(len(dl) * args.epochs, 1)

def child(args):
    import torch
    torch.set_num_threads(args.threads)
    t = time.perf_counter(); d = prepare(args); prep_s = time.perf_counter() - t
    run = {'ftnb': run_ftnb, 'ftnb_nnlinear': lambda a, d: run_ftnb(a, d, False), 'ftnb_compile': lambda a, d: run_ftnb(a, d, False, True), 'hf': lambda a, d: _hf_common(a, d, False), 'hf_group': lambda a, d: _hf_common(a, d, True),
           'article': run_article}[args.variant]
    train_s, padded, rss, fwd, loss = run(args, d)
    scores, eval_s = score(fwd, d)
    real = sum(len(it['input_ids']) for it in d['train_items']) * args.epochs
    res = dict(variant=args.variant, seed=args.seed, train_s=train_s, eval_s=eval_s, prep_s=prep_s, sentences=len(d['train']) * args.epochs,
               sent_per_s=len(d['train']) * args.epochs / train_s, real_tokens=real, padded_tokens=padded,
               real_tok_per_s=real / train_s, padding_eff=real / padded, peak_rss_train_mb=rss, peak_rss_mb=maxrss_mb(),
               train_loss=float(loss), f1=scores['f1'], lenient_f1=scores['lenient_f1'], threads=torch.get_num_threads(),
               lengths=[len(it['input_ids']) for it in d['train_items']])
    Path(args.child_out).write_text(json.dumps(res))

# ---------------------------------------------------------------- the parent: machine speed, FLOPs, ratios, report
def matmul_gflops(threads:int, n:int=1024)->dict:
    "Best-of fp32 GFLOP/s of an n x n by n x 4n product on this machine, now: through MKL (`torch.matmul`) and oneDNN."
    import torch
    from ft_nb.fastlinear import linear_gflops, onednn_linear, onednn_available
    torch.set_num_threads(threads)
    res = {'mkl': linear_gflops(lambda x, w, b: x @ w.T, n, n, 4 * n, repeat=10)}
    if onednn_available(): res['onednn'] = linear_gflops(lambda x, w, b: onednn_linear(x, w), n, n, 4 * n, repeat=10)
    return res

def model_shape(model_name)->dict:
    "Non-embedding parameters, layers and width of the encoder (plus a token head)."
    from transformers import AutoConfig
    from ft_nb.models import resolve_model, load_encoder
    enc = load_encoder(model_name)
    emb = sum(p.numel() for n, p in enc.named_parameters() if n.startswith('embeddings.'))
    total = sum(p.numel() for p in enc.parameters())
    c = enc.config
    return dict(params=total, embedding_params=emb, non_embedding_params=total - emb, layers=c.num_hidden_layers, d_model=c.hidden_size)

def train_flops(lengths, shape, n_labels:int=9)->float:
    """Training FLOPs for sequences of `lengths` tokens: per token 6 x N (N = non-embedding parameters plus the head: each
    weight does one multiply-add forward and two backward) plus the attention term 12 x layers x T x d (QK^T and AV are
    2 x T x d multiply-adds each per token and layer forward, x3 with backward) for a sequence of T tokens."""
    import numpy as np
    T = np.asarray(lengths, dtype=float)
    N = shape['non_embedding_params'] + shape['d_model'] * n_labels
    return float((T * (6 * N + 12 * shape['layers'] * T * shape['d_model'])).sum())

def plot(results, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    vs = [v for v in VARIANTS if v in results]
    fig, axs = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key, title in zip(axs, ('sent_per_s', 'peak_rss_train_mb', 'f1_mean'), ('training sentences/s (higher is better)', 'peak RSS, MB', 'strict entity F1 (valid), mean over seeds')):
        vals = [results[v][key] for v in vs]
        ax.barh([LABELS[v] for v in vs], vals, color=['tab:green' if v == 'ftnb' else 'tab:gray' for v in vs])
        for i, x in enumerate(vals): ax.text(x, i, f' {x:.3g}', va='center')
        ax.set_title(title); ax.invert_yaxis(); ax.margins(x=0.25)
    for ax in axs[1:]: ax.set_yticklabels([])
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)

def main(argv=None):
    args = parse(argv)
    if args.variant: return child(args)
    variants = [v for v in args.variants.split(',') if v]
    if bad := [v for v in variants if v not in VARIANTS]: sys.exit(f"unknown variants {bad}; choose from {VARIANTS}")
    seeds = [int(s) for s in args.seeds.split(',')]
    mm = matmul_gflops(args.threads)
    results, runs = {}, []
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    for r in range(args.repeat):
        for seed in seeds:
            for v in variants:
                if v == 'article' and seed != seeds[0]: continue
                with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as f: out = f.name
                cmd = [sys.executable, __file__, *passthrough, '--seed', str(seed), '--variant', v, '--child-out', out]
                t = time.perf_counter(); subprocess.run(cmd, check=True)
                res = json.loads(Path(out).read_text()) | {'wall_s': time.perf_counter() - t}; os.unlink(out)
                print(f"  run {r + 1}/{args.repeat} seed {seed} {v:13s}: train {res['train_s']:.1f} s, {res['sent_per_s']:.1f} sent/s, "
                      f"F1 {res['f1']:.4f}, peak RSS {res['peak_rss_train_mb']:.0f} MB", flush=True)
                runs.append({k: x for k, x in res.items() if k != 'lengths'})
                if v not in results or res['train_s'] < results[v]['train_s']: results[v] = res
    mm = {k: max(x, matmul_gflops(args.threads)[k]) for k, x in mm.items()} # before and after: the best
    gflops = max(mm.values())
    for v, res in results.items(): # F1 over seeds (the fastest run's own F1 stays in the per-run list)
        per_seed = {x['seed']: x for x in runs if x['variant'] == v} # runs are deterministic per seed; repeats only time
        f1s = [x['f1'] for x in per_seed.values()]
        res['f1_runs'], res['f1_mean'], res['f1_sd'] = f1s, float(sum(f1s) / len(f1s)), float((sum((f - sum(f1s) / len(f1s)) ** 2 for f in f1s) / max(len(f1s) - 1, 1)) ** .5)
        res['lenient_f1_mean'] = float(sum(x['lenient_f1'] for x in per_seed.values()) / len(f1s))
        res['peak_rss_train_mb'] = max(x['peak_rss_train_mb'] for x in runs if x['variant'] == v)
    shape = model_shape(args.model)
    for v, res in results.items():
        lengths = res.pop('lengths')
        res['useful_tflop'] = train_flops(lengths, shape) * args.epochs / 1e12
        res['achieved_gflops'] = res['useful_tflop'] * 1e3 / res['train_s']
        res['fraction_of_matmul'] = res['achieved_gflops'] / gflops
    base = results.get('ftnb')
    ratios = {f'ftnb_over_{v}': base['sent_per_s'] / r['sent_per_s'] for v, r in results.items() if base and v != 'ftnb'}
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                threads=args.threads, torch=__import__('torch').__version__, transformers=__import__('transformers').__version__,
                args={k: v for k, v in vars(args).items() if k not in ('variant', 'child_out', 'seed')}, matmul_gflops=mm, model=shape)
    print(f"\n{meta['date']}  {meta['machine']}, {args.threads} threads; fp32 matmul " + ', '.join(f"{k} {x:.1f}" for k, x in mm.items()) + " GFLOP/s")
    print(f"model: {shape['non_embedding_params'] / 1e6:.1f} M non-embedding parameters, {shape['layers']} layers, d={shape['d_model']}")
    print(f"{args.n} sentences x {args.epochs} epoch(s), batch {args.bs}, lr {args.lr}, seeds {args.seeds} (F1: mean over seeds)\n")
    hdr = f"{'variant':28s} {'train s':>8s} {'sent/s':>7s} {'tok/s':>7s} {'pad eff':>7s} {'RSS MB':>7s} {'F1':>6s} {'+-':>6s} {'len F1':>6s} {'eval s':>6s} {'GFLOP/s':>7s} {'of mm':>6s} {'ft-nb x':>7s}"
    print(hdr)
    for v, r in results.items():
        ratio = base['sent_per_s'] / r['sent_per_s'] if base else float('nan')
        print(f"{LABELS[v]:28s} {r['train_s']:8.1f} {r['sent_per_s']:7.1f} {r['real_tok_per_s']:7.0f} {r['padding_eff']:7.3f} "
              f"{r['peak_rss_train_mb']:7.0f} {r['f1_mean']:6.4f} {r['f1_sd']:6.4f} {r['lenient_f1_mean']:6.4f} {r['eval_s']:6.1f} {r['achieved_gflops']:7.1f} "
              f"{r['fraction_of_matmul']:6.1%} {ratio:7.2f}")
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, results=results, ratios=ratios, runs=runs), indent=1))
    if not args.no_plot: plot(results, out.with_suffix('.png'))
    print(f"\nwrote {out}" + ('' if args.no_plot else f" and {out.with_suffix('.png')}"))

if __name__ == '__main__': main()
