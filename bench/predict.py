"""Inference benchmark: ft-nb's `Predictor` against `transformers.pipeline("token-classification")`, same model, same texts.

    python bench/predict.py [--n 2000] [--model DIR] [--threads 2] [--repeat 3] [--int8] [--whole 10000]
                            [--out bench/results/predict.json]

Tags `--n` raw sentences (CoNLL-2003 valid, words joined by spaces) in one process with
  ftnb           `Predictor(model, tok, batch_size=32)`: length-sorted batches, dynamic padding, one tag per word,
                 linear layers through oneDNN (`FastLinear`), words split by CoNLL's rule (the default);
  ftnb_nnlinear  the same with `fast=False` (plain `nn.Linear`): what `FastLinear` buys;
  ftnb_tok       the same with `words='tokenizer'`: words cut where the tokenizer cuts them, as the pipeline does;
  pipe_b1        `pipeline('token-classification', aggregation_strategy='first')` at its default batch size (1);
  pipe_b32       the same pipeline with `batch_size=32`;
  int8           (with `--int8`) `Predictor(..., quantize='int8')`: dynamic int8 linear layers.
All use the same saved model folder: `--model`, or else the bundled MiniLM fine-tuned here for one short epoch on 1,000
training sentences (lr 1e-4, batch 16) and saved to a temporary folder. Reports sentences/s (best of `--repeat`, variants
interleaved), ratios, and entity agreement with the pipeline at its default batch size: entities with the same
(start, end, label) over the union of both sides' entities, and the share of sentences whose entity sets are identical.
ft-nb's default words keep O'Brien and Anne-Gaelle whole (as CoNLL does), the pipeline splits them at the apostrophe and
hyphen, so there the two disagree by definition: agreement is reported for `ftnb_tok` (same words as the pipeline), for
`ftnb`, and for `ftnb` on the sentences where both ways of splitting coincide.

With `--whole N` it also times two whole processes, start to exit, on the first N sentences of `--train` as a text file:
`ft-nb predict --model M --input F` and a script that loads the pipeline and writes the same JSON lines."""
import argparse, json, os, platform, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--texts', default=str(d/'valid.txt') if d else None, help="CoNLL file whose sentences are joined into raw texts")
    p.add_argument('--train', default=str(d/'train.txt') if d else None, help="CoNLL file to fine-tune on when no --model is given")
    p.add_argument('--n', type=int, default=2000, help="sentences to tag")
    p.add_argument('--model', default=None, help="a saved ft-nb model folder (default: fine-tune one briefly)")
    p.add_argument('--n-train', type=int, default=1000, help="sentences for the brief fine-tuning")
    p.add_argument('--threads', type=int, default=2); p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--bs', type=int, default=32, help="the Predictor's batch size, and the pipeline's second one")
    p.add_argument('--int8', action='store_true', help="also time the Predictor on a dynamically int8-quantised model")
    p.add_argument('--whole', type=int, default=0, help="also time whole processes (ft-nb predict vs a pipeline script) on N lines")
    p.add_argument('--pipe-process', nargs=2, help=argparse.SUPPRESS) # MODEL INPUT: the pipeline's whole process
    p.add_argument('--out', default='bench/results/predict.json')
    args = p.parse_args(argv)
    if not args.pipe_process and (not args.texts or (not args.model and not args.train)): p.error("give --texts (and --train or --model)")
    return args

def brief_model(args, folder):
    "Fine-tune the bundled MiniLM for one epoch on `--n-train` sentences and save it to `folder`."
    from functools import partial
    from ft_nb.core import set_seed
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.data.align import Aligner
    from ft_nb.data.load import make_loader
    from ft_nb.models import token_classifier, load_tokenizer, save_model
    from ft_nb.learner import Learner, adamw, DeviceCB
    from ft_nb.callbacks.schedule import ScheduleCB, GradClipCB
    set_seed(0)
    sents = read_conll(args.train)[0][:args.n_train]
    vocab, tok = LabelVocab.from_data(s.tags for s in sents), load_tokenizer(None)
    items = Aligner(tok, vocab, max_len=128).encode(sents)
    model = token_classifier(vocab.labels)
    t = time.perf_counter()
    Learner(model, make_loader(items, tok.pad_token_id, 16, seed=0), None, 1e-4,
            [DeviceCB(), ScheduleCB('linear', 0.1), GradClipCB(1.)], opt_func=adamw).fit(1)
    print(f"fine-tuned the bundled MiniLM on {len(sents)} sentences in {time.perf_counter() - t:.1f} s; saved to {folder}")
    save_model(model.eval(), folder, tok, task='ner', max_len=128, alignment='first', scheme='IOB2')
    return folder

def ent_set(ents, key):
    return {(e['start'], e['end'], e[key]) for e in ents}

def agreement(a:list[set], b:list[set])->dict:
    same = sum(len(x & y) for x, y in zip(a, b)); union = sum(len(x | y) for x, y in zip(a, b))
    return dict(entity_agreement=same / max(union, 1), sentence_agreement=sum(x == y for x, y in zip(a, b)) / max(len(a), 1),
                entities_a=sum(map(len, a)), entities_b=sum(map(len, b)))

def pipe_process(model:str, path:str):
    "The pipeline's whole process: load it, tag every line of `path` at its default batch size, print JSON lines."
    import sys
    from transformers import pipeline
    pipe = pipeline('token-classification', model=model, aggregation_strategy='first', device='cpu')
    lines = Path(path).read_text(encoding='utf-8').splitlines()
    for text, ents in zip(lines, pipe(lines)):
        print(json.dumps({'text': text, 'entities': [{k: (float(v) if k == 'score' else v) for k, v in e.items()} for e in ents]}, ensure_ascii=False))

def whole_processes(args, folder)->dict:
    "Wall seconds of `ft-nb predict` and of the pipeline script, each a fresh process, on the first `--whole` training sentences."
    import subprocess, sys, shutil
    from ft_nb.data.conll import read_conll
    lines = [' '.join(s.words) for s in read_conll(args.train)[0][:args.whole]]
    with tempfile.TemporaryDirectory() as d:
        src = Path(d)/'lines.txt'; src.write_text('\n'.join(lines) + '\n', encoding='utf-8')
        env = os.environ | {'OMP_NUM_THREADS': str(args.threads), 'TOKENIZERS_PARALLELISM': 'false'}
        cmds = {'ftnb_process': [shutil.which('ft-nb') or 'ft-nb', 'predict', '--model', str(folder), '--input', str(src)],
                'pipe_process': [sys.executable, __file__, '--pipe-process', str(folder), str(src)]}
        out = {}
        for k, cmd in cmds.items():
            t = time.perf_counter()
            r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
            out[k] = dict(seconds=time.perf_counter() - t, lines_out=r.stdout.count(b'\n'))
            print(f"  whole process {k}: {out[k]['seconds']:.1f} s for {len(lines)} lines", flush=True)
    assert all(o['lines_out'] == len(lines) for o in out.values()), out
    return out | {'lines': len(lines), 'ftnb_process_over_pipe_process': out['pipe_process']['seconds'] / out['ftnb_process']['seconds']}

def main(argv=None):
    args = parse(argv)
    import torch
    torch.set_num_threads(args.threads)
    if args.pipe_process: return pipe_process(*args.pipe_process)
    from transformers import pipeline
    from ft_nb.data.conll import read_conll
    from ft_nb.inference import Predictor, split_words, tokenizer_words
    from ft_nb.models import quiet_transformers
    texts = [' '.join(s.words) for s in read_conll(args.texts)[0][:args.n]]
    folder = args.model or brief_model(args, tempfile.mkdtemp(prefix='ftnb-bench-model-'))
    preds = {'ftnb': Predictor.from_folder(folder, batch_size=args.bs), 'ftnb_nnlinear': Predictor.from_folder(folder, batch_size=args.bs, fast=False),
             'ftnb_tok': Predictor.from_folder(folder, batch_size=args.bs, words='tokenizer')}
    if args.int8: preds['int8'] = Predictor.from_folder(folder, batch_size=args.bs, quantize='int8')
    with quiet_transformers(): pipe = pipeline('token-classification', model=str(folder), aggregation_strategy='first', device='cpu')
    runs = {k: (lambda p=p: p(texts)) for k, p in preds.items()} | {'pipe_b1': lambda: pipe(texts), f'pipe_b{args.bs}': lambda: pipe(texts, batch_size=args.bs)}
    best, outs = {k: float('inf') for k in runs}, {}
    for r in range(args.repeat):
        for k, f in runs.items():
            t = time.perf_counter(); outs[k] = f(); dt = time.perf_counter() - t
            best[k] = min(best[k], dt); print(f"  run {r + 1}/{args.repeat} {k:13s}: {dt:.2f} s", flush=True)
    sets = {k: [ent_set(o, 'entity_group' if k.startswith('pipe') else 'label') for o in v] for k, v in outs.items()}
    ref, big = 'pipe_b1', f'pipe_b{args.bs}'
    res = {k: dict(seconds=best[k], sent_per_s=len(texts) / best[k]) for k in runs}
    agree = {f'{k}_vs_{ref}': agreement(sets[k], sets[ref]) for k in ('ftnb_tok', 'ftnb', big)}
    # ft-nb's default words keep O'Brien, Anne-Gaelle, ex-England whole (as CoNLL does); the pipeline's pre-tokenizer splits
    # them at the apostrophe or hyphen, so its 'first' aggregation tags their pieces separately. Agreement where both split alike:
    alike = [[w for w, *_ in split_words(t)] == [w for w, *_ in ws] for t, ws in zip(texts, tokenizer_words(preds['ftnb'].tokenizer, texts))]
    pick = lambda xs: [x for x, a in zip(xs, alike) if a]
    agree[f'ftnb_vs_{ref}_same_words'] = agreement(pick(sets['ftnb']), pick(sets[ref])) | dict(sentences=sum(alike))
    agree['ftnb_nnlinear_vs_ftnb'] = agreement(sets['ftnb_nnlinear'], sets['ftnb'])
    if 'int8' in runs: agree |= {'int8_vs_ftnb': agreement(sets['int8'], sets['ftnb'])}
    ratios = {f'{k}_over_{p}': res[k]['sent_per_s'] / res[p]['sent_per_s'] for k in ('ftnb', 'ftnb_nnlinear', 'ftnb_tok', 'int8') if k in res for p in (ref, big)}
    ratios['ftnb_over_ftnb_nnlinear'] = res['ftnb']['sent_per_s'] / res['ftnb_nnlinear']['sent_per_s']
    whole = whole_processes(args, folder) if args.whole else None
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                threads=args.threads, torch=torch.__version__, transformers=__import__('transformers').__version__, n=len(texts),
                model=str(args.model or 'bundled MiniLM, fine-tuned 1 epoch on 1,000 sentences'), args=vars(args))
    print(f"\n{meta['date']}  {meta['machine']}, {args.threads} threads; {len(texts)} sentences, best of {args.repeat}")
    for k, r in res.items():
        print(f"{k:13s} {r['seconds']:7.2f} s {r['sent_per_s']:8.1f} sent/s" + ''.join(f"   / {p}: {ratios[f'{k}_over_{p}']:.2f}x" for p in (ref, big) if f'{k}_over_{p}' in ratios))
    print(f"FastLinear: ftnb / ftnb_nnlinear {ratios['ftnb_over_ftnb_nnlinear']:.2f}x")
    for k, a in agree.items():
        print(f"{k}: entity agreement {a['entity_agreement']:.4f}, identical sentences {a['sentence_agreement']:.4f} ({a['entities_a']} vs {a['entities_b']} entities" + (f", {a['sentences']} sentences" if 'sentences' in a else '') + ")")
    if whole: print(f"whole processes on {whole['lines']} lines: ft-nb predict {whole['ftnb_process']['seconds']:.1f} s, pipeline {whole['pipe_process']['seconds']:.1f} s: {whole['ftnb_process_over_pipe_process']:.2f}x")
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, results=res, ratios=ratios, agreement=agree, whole_process=whole), indent=1))
    print(f"wrote {out}")

if __name__ == '__main__': main()
