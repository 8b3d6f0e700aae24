"""Decoder benchmark: constrained Viterbi, argmax-and-repair and argmax-and-drop on CoNLL-2003 valid, over seeds.

    python bench/decoders.py [--n 3000] [--epochs 2] [--lr 1e-4] [--bs 32] [--seeds 42,43,44] [--threads 1]
                             [--work /tmp/ft-nb-decoders] [--out bench/results/decoders.json]

For each seed, fine-tunes the bundled MiniLM (`fine_tune(TrainConfig(...))`) on the first `--n` sentences of the
training file, validating on the validation file, and saves it to WORK/seedN. Then scores the saved model on ALL of the
validation file with each decoder (`TagDecoder(labels, method)`): strict and lenient entity F1, the ill-formed spans of
the argmax (an `I-X` at the start, after `O` or after another type: what a decoder has to handle), the words whose tag
the decoder changed from the argmax, and the time of decoding alone (best of `--repeat`). All three decoders read the
same word log-probabilities, from one forward pass (`forward_batches` and `word_scores`, as `evaluate_ner` computes
them); the F1 `fine_tune` wrote to metrics.json is printed beside them as a check of that. A seed whose
WORK/seedN/metrics.json exists is not trained again, one whose WORK/seedN/decoders.json exists is not scored again. Prints a table per seed and mean ± sd over
seeds, and writes the JSON to `--out`."""
import argparse, json, os, platform, statistics, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
METHODS = ('viterbi', 'repair', 'drop')
KINDS = ('after_O', 'after_type') # an ill-formed `I-X` at the start or after `O`; after another type
MEASURES = ('f1', 'lenient_f1', 'precision', 'recall', 'ill_formed', 'ill_formed_after_O', 'ill_formed_after_type',
            'right_at_ill_formed', 'right_after_O', 'right_after_type', 'changed_words', 'ill_formed_out', 'entities', 'decode_s')

OPTIONS = [ # flag, type, default, help: one table, so that the options read as data
    ('--n', int, 3000, "training sentences (the first N)"), ('--epochs', int, 2, "epochs"), ('--bs', int, 32, "batch size"),
    ('--lr', float, 1e-4, "peak learning rate"), ('--seeds', str, '42,43,44', "comma-separated seeds, run one after the other"),
    ('--threads', int, 1, "torch threads (2 OpenMP threads on 2 busy shared cores ran 5x slower than 1)"),
    ('--repeat', int, 3, "timings of decoding alone; the fastest is reported"),
    ('--work', str, str(Path(tempfile.gettempdir())/'ft-nb-decoders'), "one model folder per seed"),
    ('--out', str, 'bench/results/decoders.json', "JSON results of all seeds")]

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d, p = dev_data_dir('conll2003'), argparse.ArgumentParser(description=__doc__.splitlines()[0])
    files = {'--train': ('train.txt', "CoNLL training file"), '--valid': ('valid.txt', "CoNLL validation file (all of it is scored)")}
    for flag, (name, help) in files.items(): p.add_argument(flag, default=str(d/name) if d else None, help=help)
    for flag, kind, default, help in OPTIONS: p.add_argument(flag, type=kind, default=default, help=help)
    args = p.parse_args(argv)
    if not (args.train and args.valid): p.error("give --train and --valid (no shared/data/conll2003 found)")
    return args

def ill_formed_at(tags:list[str])->list[tuple[int, str]]:
    "Where the spans strict IOB2 does not read start: each `I-X` at the start or after `O`, or after another type."
    from ft_nb.tags import split_tag
    found, prev = [], ('O', None)
    for i, tag in enumerate(tags):
        cur = split_tag(tag)
        if cur[0] == 'I' and prev[1] != cur[1]: found.append((i, 'after_O' if prev[0] == 'O' else 'after_type'))
        prev = cur
    return found

def train_seed(args, seed:int, out:Path)->dict:
    "Fine-tune on the first `--n` training sentences; returns the training time and the metrics fine_tune wrote."
    from ft_nb.data.conll import read_conll, write_conll
    from ft_nb.train import TrainConfig, fine_tune
    out.mkdir(parents=True, exist_ok=True); train_file = out/f'train_first{args.n}.txt'
    write_conll(read_conll(args.train)[0][:args.n], train_file)
    t = time.perf_counter()
    fine_tune(TrainConfig(train=str(train_file), valid=args.valid, epochs=args.epochs, lr=args.lr, bs=args.bs, out=str(out), seed=seed))
    return dict(train_s=time.perf_counter() - t)

def word_logprobs(model, al, sents:list, items:list[dict], bs:int)->list:
    "Per sentence, the [n_words, C] word log-probabilities every decoder reads: one forward pass, as `EntityF1` pools them."
    from ft_nb.evaluation import forward_batches, word_scores
    token_scores = [None] * len(items)
    for idx, _, logits in forward_batches(model, items, al.tokenizer.pad_token_id, bs):
        logp = logits.float().log_softmax(-1).numpy()
        for b, i in enumerate(idx): token_scores[i] = logp[b, :len(items[i]['word_ids'])]
    return word_scores(items, token_scores, [len(s.words) for s in sents], 'first', list(al.vocab.labels).index('O'))

def score_seed(args, out:Path)->dict:
    "Each decoder's scores, ill-formed counts and timings for the model saved in `out`, on all of `--valid`."
    from ft_nb.data.align import Aligner
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.evaluation import TagDecoder
    from ft_nb.metrics import EntityScorer
    from ft_nb.models import load_model, load_tokenizer
    from ft_nb.tags import spans
    model, tok = load_model(out), load_tokenizer(out)
    labels = next(iter(model.heads.values())).labels
    sents = read_conll(args.valid)[0]; gold = [s.tags for s in sents]
    al = Aligner(tok, LabelVocab(labels), max_len=model.meta.get('max_len'), on_unknown='ignore')
    t = time.perf_counter(); rows = word_logprobs(model, al, sents, al.encode(sents), model.meta.get('eval_bs', 64))
    res = dict(labels=list(labels), sentences=len(sents), forward_s=time.perf_counter() - t)
    argmax = [[labels[i] for i in r.argmax(-1)] for r in rows]
    at = [ill_formed_at(a) for a in argmax]
    counts = {k: sum(kind == k for a in at for _, kind in a) for k in KINDS}
    for m in METHODS:
        dec, decode_s = TagDecoder(labels, m), float('inf')
        for _ in range(args.repeat):
            t = time.perf_counter(); predicted = dec.decode_many(rows); decode_s = min(decode_s, time.perf_counter() - t)
        s = EntityScorer().update(gold, predicted).summary()
        right = {k: sum(p[i] == g[i] for a, p, g in zip(at, predicted, gold) for i, kind in a if kind == k) for k in KINDS}
        res[m] = dict(f1=s['f1'], lenient_f1=s['lenient_f1'], precision=s['precision'], recall=s['recall'],
                      ill_formed=sum(counts.values()), **{f'ill_formed_{k}': n for k, n in counts.items()},
                      right_at_ill_formed=sum(right.values()), **{f'right_{k}': n for k, n in right.items()},
                      ill_formed_out=sum(len(ill_formed_at(p)) for p in predicted),
                      changed_words=sum(a != d for A, D in zip(argmax, predicted) for a, d in zip(A, D)),
                      entities=sum(len(spans(p)) for p in predicted), decode_s=decode_s)
        print(f"  {m:8s} strict F1 {s['f1']:.4f}  lenient {s['lenient_f1']:.4f}  ill-formed {res[m]['ill_formed']} "
              f"({counts['after_O']} at the start or after O)  right there {res[m]['right_at_ill_formed']}  "
              f"changed words {res[m]['changed_words']}  decode {decode_s * 1e3:.0f} ms", flush=True)
    fit = json.loads((out/'metrics.json').read_text())['valid']['f1'] # fine_tune's own `evaluate_ner`, default decoder
    res['fine_tune_valid_f1'] = fit
    same = [m for m in METHODS if abs(res[m]['f1'] - fit) < 1e-9] # the decoder `fine_tune`'s evaluation used, found by its F1
    print(f"  fine_tune's metrics.json: valid strict F1 {fit:.4f}, that of {same or 'no decoder here'}", flush=True)
    return res

def mean_sd(xs:list[float])->dict: return dict(mean=statistics.fmean(xs), sd=statistics.stdev(xs) if len(xs) > 1 else 0.)

def summarise(per_seed:dict)->dict:
    "Mean and sample sd over seeds of every measure of every decoder, and viterbi's margin over the better other."
    seeds = list(per_seed)
    summary = {m: {k: mean_sd([per_seed[s][m][k] for s in seeds]) for k in MEASURES} for m in METHODS}
    margins = [per_seed[s]['viterbi']['f1'] - max(per_seed[s]['repair']['f1'], per_seed[s]['drop']['f1']) for s in seeds]
    best_other = max(summary['repair']['f1']['mean'], summary['drop']['f1']['mean'])
    summary['viterbi_margin'] = dict(per_seed=dict(zip(seeds, margins)), of_means=summary['viterbi']['f1']['mean'] - best_other,
                                     viterbi_at_least_best_other=summary['viterbi']['f1']['mean'] >= best_other)
    return summary

def table(per_seed:dict, summary:dict)->str:
    "The results as a text table: one row per seed and decoder, then mean ± sd."
    head = f"{'seed':>9s} {'decoder':8s} {'strict F1':>9s} {'lenient F1':>10s} {'ill-formed':>10s} {'right':>6s} {'changed':>8s} {'decode ms':>9s}"
    rows = [head, '-' * len(head)]
    for s, r in per_seed.items():
        rows += [f"{s:>9s} {m:8s} {r[m]['f1']:9.4f} {r[m]['lenient_f1']:10.4f} {r[m]['ill_formed']:10d} {r[m]['right_at_ill_formed']:6d} {r[m]['changed_words']:8d} "
                 f"{r[m]['decode_s'] * 1e3:9.0f}" for m in METHODS]
    rows.append('-' * len(head))
    for m in METHODS:
        x = summary[m]
        rows.append(f"{'mean ± sd':>9s} {m:8s} {x['f1']['mean']:.4f}±{x['f1']['sd']:.4f} {x['lenient_f1']['mean']:.4f}±{x['lenient_f1']['sd']:.4f} "
                    f"{x['ill_formed']['mean']:6.1f} {x['right_at_ill_formed']['mean']:6.1f} {x['changed_words']['mean']:6.1f} {x['decode_s']['mean'] * 1e3:6.0f}±{x['decode_s']['sd'] * 1e3:.0f}")
    v = summary['viterbi_margin']
    rows.append(f"viterbi - max(repair, drop), strict F1 of the means: {v['of_means']:+.4f} "
                f"(per seed {', '.join(f'{x:+.4f}' for x in v['per_seed'].values())}); viterbi >= max: {v['viterbi_at_least_best_other']}")
    return '\n'.join(rows)

def main(argv=None):
    args = parse(argv)
    import torch; torch.set_num_threads(args.threads)
    work, per_seed, train = Path(args.work), {}, {}
    for seed in [int(s) for s in args.seeds.split(',')]:
        out, done = work/f'seed{seed}', work/f'seed{seed}'/'decoders.json'
        if not (out/'metrics.json').exists():
            print(f"seed {seed}: training on the first {args.n} sentences of {args.train} into {out}", flush=True)
            (out/'train_s.json').write_text(json.dumps(train_seed(args, seed, out)))
        if not done.exists():
            print(f"seed {seed}: scoring on {args.valid} with {', '.join(METHODS)}", flush=True)
            info = json.loads((out/'train_s.json').read_text()) if (out/'train_s.json').exists() else {'train_s': None}
            done.write_text(json.dumps(info | score_seed(args, out), indent=1))
        res = json.loads(done.read_text()); train[str(seed)] = res.pop('train_s'); per_seed[str(seed)] = res
    summary = summarise(per_seed)
    print(table(per_seed, summary))
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
                torch=torch.__version__, threads=args.threads, forward_s={s: r['forward_s'] for s, r in per_seed.items()}, train_s=train, args={k: v for k, v in vars(args).items() if k != 'work'})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(meta=meta, per_seed=per_seed, summary=summary), indent=1))
    print(f"results written to {args.out}")

if __name__ == '__main__': main()
