"""Continued fine-tuning of a saved NER model: on new sentences with the same labels, and with one new label (MISC).

    python bench/continue_training.py [--n 1000] [--new 1000] [--epochs 2] [--lr 1e-4] [--bs 32] [--monitor-n 500]
                                      [--threads 2] [--work /tmp/ft-nb-continue] [--out bench/results/continue_training.json]

Three runs of `fine_tune` (what `ft-nb train` runs), one after the other in this process, on CoNLL-2003:

- `base`: the bundled MiniLM fine-tuned on the whole documents among the first `--n` training sentences, their MISC tags
  replaced by O, so that it knows PER, LOC and ORG only;
- `same_labels`: `base` continued (`--model <base folder>`) on the next whole documents of the training file, `--new`
  sentences at most, MISC again replaced by O: more data, the same labels;
- `new_label`: `base` continued on the same new documents with their MISC tags: its head gains rows for B-MISC and I-MISC.

The training files are temporary copies in `--work` (with the models). Validation (which epoch's weights are kept) is on
the whole documents among the first `--monitor-n` sentences of CoNLL-2003 valid; the held-out scores on the rest of valid
(its later documents, the `--test` split of each run), with all four types gold: strict F1 per type, and of PER, LOC and
ORG together (micro: the old labels). Acceptance (issue 14): the old labels' F1 of `new_label` within 0.01 of `base`'s (or
above) and of `same_labels`' (the same new documents without MISC: what learning the new label costs the old ones), and
MISC learned (F1 above 0.5). Results to `--out`: per run its settings, the start banner's notes, per-type scores, the history
of its epochs and its seconds."""
import argparse, contextlib, io, json, os, re, time
from dataclasses import replace
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
OLD, NEW = ('LOC', 'ORG', 'PER'), 'MISC'

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--train', default=str(d/'train.txt') if d else None); p.add_argument('--valid', default=str(d/'valid.txt') if d else None)
    p.add_argument('--n', type=int, default=1000, help="base training sentences: whole documents within the first N")
    p.add_argument('--new', type=int, default=1000, help="new training sentences: whole documents within the next N")
    p.add_argument('--monitor-n', type=int, default=500, help="validation sentences (whole documents) that pick the kept epoch; the rest of valid is held out")
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--model', default=None, help="the encoder of the base run (default: the bundled MiniLM)")
    p.add_argument('--runs', default='base,same_labels,new_label', help="which runs, in order (a continued run needs base's folder in --work)")
    p.add_argument('--work', default='/tmp/ft-nb-continue'); p.add_argument('--out', default='bench/results/continue_training.json')
    args = p.parse_args(argv)
    if not (args.train and args.valid): p.error("give --train and --valid (no shared/data/conll2003 found)")
    return args

def without(sents, typ:str=NEW)->list:
    "`sents` with the entities of type `typ` tagged O."
    from ft_nb.data.conll import map_types
    return [replace(s, tags=map_types(s.tags, {typ: 'O'})) for s in sents]

def write_docs(docs:list[list], path:Path, drop:str|None=None)->int:
    "Write documents (lists of sentences) as one CoNLL file with -DOCSTART- lines, `drop`'s entities tagged O; the sentence count."
    from ft_nb.data.conll import write_conll
    sents = [s for d in docs for s in d]; starts = [sum(map(len, docs[:i])) for i in range(len(docs))]
    write_conll(without(sents, drop) if drop else sents, path, doc_starts=starts)
    return len(sents)

def take(docs:list[list], n:int)->tuple[list, list]:
    "The whole documents at the start of `docs` that hold at most `n` sentences together (at least one), and the rest."
    k, total = 0, 0
    while k < len(docs) and (k == 0 or total + len(docs[k]) <= n): total += len(docs[k]); k += 1
    return docs[:k], docs[k:]

def files(args)->dict:
    "The temporary CoNLL files of the runs, and what they hold."
    from ft_nb.data.conll import read_conll
    from ft_nb.data.context import documents
    w = Path(args.work); w.mkdir(parents=True, exist_ok=True)
    base, rest = take(documents(read_conll(args.train)[0]), args.n); new, _ = take(rest, args.new)
    monitor, held_out = take(documents(read_conll(args.valid)[0]), args.monitor_n)
    sizes = dict(base=write_docs(base, w/'base.txt', drop=NEW), new_same=write_docs(new, w/'new_same.txt', drop=NEW),
                 new_label=write_docs(new, w/'new_label.txt'), monitor=write_docs(monitor, w/'monitor.txt'), held_out=write_docs(held_out, w/'held_out.txt'))
    return dict(dir=w, sentences=sizes, documents=dict(base=len(base), new=len(new), monitor=len(monitor), held_out=len(held_out)))

def type_scores(report:dict)->dict:
    "Strict F1 per type from a per-type report, and the micro F1 of the old types together."
    rows = {t: r for t, r in report.items() if not t.endswith(' avg')}
    c, p, s = (sum(rows.get(t, {}).get(k, 0) for t in OLD) for k in ('correct', 'predicted', 'support'))
    old = 2 * c / (p + s) if p + s else 0.
    return {t: round(rows[t]['f1'], 6) if t in rows else 0. for t in (*OLD, NEW)} | {'old_micro': old, 'support': {t: rows[t]['support'] for t in rows}}

def one_run(args, f:dict, name:str)->dict:
    "Train run `name` with `fine_tune`, banner and summary printed; what it scored on the held-out documents."
    from ft_nb.config import TrainConfig
    from ft_nb.train import fine_tune
    w = f['dir']; train = {'base': 'base', 'same_labels': 'new_same', 'new_label': 'new_label'}[name]
    cfg = TrainConfig(task='ner', train=str(w/f'{train}.txt'), valid=str(w/'monitor.txt'), test=str(w/'held_out.txt'),
                      model=args.model if name == 'base' else str(w/'base'), out=str(w/name), epochs=args.epochs, lr=args.lr, bs=args.bs,
                      keep_checkpoints=False, overwrite=True)
    printed = io.StringIO(); t = time.perf_counter()
    with contextlib.redirect_stdout(printed): res = fine_tune(cfg)
    wall = time.perf_counter() - t; text = printed.getvalue(); print(text, flush=True)
    notes = [l.strip() for l in text.splitlines() if re.match(r'\s*(continue|labels|heads|unseen)\b', l)]
    return dict(run=name, train=cfg.train, model=cfg.model, labels=res['labels'], notes=notes, best_epoch=res['best_epoch'],
                f1=res['test']['f1'], lenient_f1=res['test']['lenient_f1'], types=type_scores(res['test']['report']),
                history=[{k: v for k, v in r.items() if k != 'epoch'} for r in res['history']],
                train_s=sum(r['time'] for r in res['history'] if 'time' in r), wall_s=wall)

def verdict(runs:dict)->dict:
    "Issue 14's acceptance: the old labels' F1 after continuing with the new label, against the base model's; the new label's F1."
    if not {'base', 'new_label'} <= set(runs): return {}
    before, after = runs['base']['types'], runs['new_label']['types']
    d = dict(old_before=before['old_micro'], old_after=after['old_micro'], old_change=after['old_micro'] - before['old_micro'],
             per_type_change={t: after[t] - before[t] for t in OLD}, new_f1_before=before[NEW], new_f1_after=after[NEW])
    if 'same_labels' in runs: # the same new documents without the new label: what adding it costs the old ones
        d['old_same_labels'] = runs['same_labels']['types']['old_micro']; d['old_vs_same_labels'] = after['old_micro'] - d['old_same_labels']
    return d | {'passed': d['old_change'] >= -0.01 and d.get('old_vs_same_labels', 0) >= -0.01 and after[NEW] > 0.5}

def main(argv=None):
    import torch
    args = parse(argv); torch.set_num_threads(args.threads)
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    f = files(args); runs = results.get('runs', {})
    for name in args.runs.split(','):
        runs[name] = one_run(args, f, name)
        t = runs[name]['types']
        print(f"{name}: held-out strict F1 {runs[name]['f1']:.4f}; old labels {t['old_micro']:.4f} "
              f"({', '.join(f'{k} {t[k]:.4f}' for k in OLD)}); {NEW} {t[NEW]:.4f}; {runs[name]['train_s']:.0f} s training", flush=True)
        results = dict(args={k: v for k, v in vars(args).items()}, data={k: v for k, v in f.items() if k != 'dir'}, runs=runs, acceptance=verdict(runs),
                       threads=torch.get_num_threads())
        out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results['acceptance'], indent=1))

if __name__ == '__main__': main()
