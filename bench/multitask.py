"""Multi-task against single-task: NER on CoNLL-2003 and sentiment on SST-2, each alone and both on one encoder.

    python bench/multitask.py [--runs ner,sst,both] [--n-ner 1500] [--n-sst 1500] [--n-valid 800] [--epochs 2] [--lr 1e-4]
                              [--bs 32] [--max-len 128] [--seed 42] [--mix proportional] [--threads 2] [--out bench/results/multitask.json]

Fine-tunes the bundled MiniLM with ft-nb's own recipe (`fine_tune`, and `fine_tune_multitask` for both tasks: linear
schedule with 10% warmup, clipping at 1, AdamW weight decay 0.01, early stopping and the best epoch's weights on the
validation score) on subsets, the same in every run: the first `--n-ner` sentences of CoNLL-2003 train (whole file
order, -DOCSTART- lines dropped) with the first `--n-valid` sentences of its validation file, and the first `--n-sst`
texts of SST-2 train with the whole GLUE validation set (872 texts). `both` trains one encoder with a head per task,
batches of the two tasks shuffled in proportion to their data (`--mix`), loss weights 1, early stopping on the mean of
the two validation scores (NER's strict F1, SST-2's macro-F1). Each final score is the kept weights' on the validation
subset: strict IOB2 entity F1 on words for NER, accuracy for SST-2.

Runs are merged into `--out` one by one (`--runs ner,sst` then `--runs both` fit in two queue slots); the acceptance
is the multi-task model's score within 0.01 of each single-task model's, or better."""
import argparse, json, os, tempfile, time
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', default='ner,sst,both', help="comma-separated: ner, sst (each alone), both (one encoder)")
    p.add_argument('--conll', default=str(dev_data_dir('conll2003') or '')); p.add_argument('--sst', default=str(dev_data_dir('sst2_glue') or ''))
    p.add_argument('--n-ner', type=int, default=1500); p.add_argument("--n-sst", type=int, default=1500)
    p.add_argument('--n-valid', type=int, default=800, help="NER validation sentences (the first of valid.txt)")
    p.add_argument('--n-sst-valid', type=int, default=10**9, help="SST-2 validation texts (default: all 872)")
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--max-len', type=int, default=128); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--mix', default='proportional', choices=('proportional', 'round_robin')); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='bench/results/multitask.json')
    args = p.parse_args(argv)
    if not (args.conll and args.sst): p.error("no shared/data/conll2003 or sst2_glue found: give --conll and --sst")
    return args

def first_sentences(src:Path, dst:Path, n:int)->int:
    "Write the first `n` sentences of CoNLL file `src` (no -DOCSTART- lines) to `dst`; how many there were."
    blocks = [b for b in src.read_text(encoding='utf-8').split('\n\n') if b.strip() and not b.lstrip().startswith('-DOCSTART-')][:n]
    dst.write_text('\n\n'.join(b.strip('\n') for b in blocks) + '\n', encoding='utf-8'); return len(blocks)

def first_rows(src:Path, dst:Path, n:int)->int:
    "Write the header and the first `n` rows of TSV file `src` to `dst`; how many rows there were."
    lines = src.read_text(encoding='utf-8').splitlines()
    dst.write_text('\n'.join(lines[:n + 1]) + '\n', encoding='utf-8'); return len(lines[1:n + 1])

def subsets(args, d:Path)->dict:
    "The data files of every run, written into `d`, and their sizes."
    sizes = dict(ner_train=first_sentences(Path(args.conll)/'train.txt', d/'ner_train.conll', args.n_ner),
                 ner_valid=first_sentences(Path(args.conll)/'valid.txt', d/'ner_valid.conll', args.n_valid),
                 sst_train=first_rows(Path(args.sst)/'train.tsv', d/'sst_train.tsv', args.n_sst),
                 sst_valid=first_rows(Path(args.sst)/'dev.tsv', d/'sst_valid.tsv', args.n_sst_valid))
    ner = dict(task='ner', train=str(d/'ner_train.conll'), valid=str(d/'ner_valid.conll'))
    sst = dict(task='classify', name='sentiment', train=str(d/'sst_train.tsv'), valid=str(d/'sst_valid.tsv'), text_col='sentence')
    return dict(ner=ner, sst=sst, sizes=sizes)

def run(name:str, args, data:dict, d:Path)->dict:
    "Train run `name` (ner, sst or both) and return its scores, history and wall time."
    from ft_nb.config import TrainConfig
    from ft_nb.train import fine_tune
    from ft_nb.multitask import fine_tune_multitask
    shared = dict(epochs=args.epochs, lr=args.lr, bs=args.bs, max_len=args.max_len, seed=args.seed, out=str(d/name), keep_checkpoints=False)
    sst_alone = {k: v for k, v in data['sst'].items() if k != 'name'}
    cfg = {'ner': TrainConfig(**data['ner'], **shared), 'sst': TrainConfig(**sst_alone, **shared),
           'both': TrainConfig(tasks=[data['ner'], data['sst']], mix=args.mix, **shared)}[name]
    t = time.perf_counter(); res = (fine_tune_multitask if name == 'both' else fine_tune)(cfg); wall = time.perf_counter() - t
    scores = {'ner': res['valid'] if name == 'ner' else None, 'sst': res['valid'] if name == 'sst' else None} if name != 'both' else \
             {'ner': res['tasks']['ner']['valid'], 'sst': res['tasks']['sentiment']['valid']}
    out = dict(wall_s=wall, epochs_run=len(res['history']), best_epoch=res['best_epoch'],
               history=[{k: v for k, v in r.items() if isinstance(v, (int, float))} for r in res['history']])
    if scores['ner']: out |= dict(ner_f1=scores['ner']['f1'], ner_lenient_f1=scores['ner']['lenient_f1'])
    if scores['sst']: out |= dict(sst_accuracy=scores['sst']['accuracy'], sst_macro_f1=scores['sst']['macro_f1'])
    return out

def verdict(results:dict)->dict|None:
    "The acceptance: the multi-task scores against the single-task ones (within 0.01, or better)."
    r = results.get('runs', {})
    if not {'ner', 'sst', 'both'} <= set(r): return None
    gaps = dict(ner_f1=r['both']['ner_f1'] - r['ner']['ner_f1'], sst_accuracy=r['both']['sst_accuracy'] - r['sst']['sst_accuracy'])
    return dict(gaps=gaps, within_0_01=all(g >= -0.01 for g in gaps.values()))

def main(argv=None):
    args = parse(argv)
    import torch; torch.set_num_threads(args.threads)
    out = Path(args.out); results = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp); data = subsets(args, d)
        settings = dict(model='bundled MiniLM (all-MiniLM-L6-v2)', **{k: getattr(args, k) for k in ('epochs', 'lr', 'bs', 'max_len', 'seed', 'mix', 'threads')},
                        sizes=data['sizes'])
        if results.get('settings', settings) != settings: results = {} # other settings: start the table afresh
        results['settings'] = settings
        for name in args.runs.split(','):
            results.setdefault('runs', {})[name] = run(name, args, data, d)
            results['verdict'] = verdict(results)
            out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(results, indent=1))
            print(f"{name}: " + json.dumps({k: v for k, v in results['runs'][name].items() if k != 'history'}), flush=True)
    print(json.dumps(results.get('verdict'), indent=1))

if __name__ == '__main__': main()
