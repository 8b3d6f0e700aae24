"""What `ft-nb eval` scores is what `ft-nb predict` returns (issue 15), measured as whole commands on a saved NER model.

For a labelled CoNLL file, it runs `ft-nb eval --predictions`, then `ft-nb predict` on the sentences' words joined by
single spaces, once with `--words whitespace` and once with the default (CoNLL-style) splitter, and reports:
- eval's strict F1 against the strict F1 of the whitespace predictions mapped back onto the words;
- the official conlleval script (Perl; `--conlleval PATH`, not shipped) on eval's `--predictions` file;
- entity F1 on character spans of the raw text, default splitter against whitespace words.

`python bench/agreement.py --model DIR --data valid.txt [--conlleval conlleval.pl] [--json bench/results/agreement.json]`"""
import argparse, json, re, subprocess, sys, tempfile, time
from pathlib import Path

def run(cmd:list[str], **kw)->subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode: sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return r

def word_starts(words:list[str])->list[int]:
    "Character offset of each word in the words joined by single spaces."
    out, pos = [], 0
    for w in words: out.append(pos); pos += len(w) + 1
    return out

def tags_from_entities(words:list[str], ents:list[dict])->list[str]:
    "IOB2 word tags from predicted character spans over whitespace-joined words (a span must cover whole words)."
    starts, tags = word_starts(words), ['O'] * len(words)
    ends = [s + len(w) for s, w in zip(starts, words)]
    for e in ents:
        idx = [i for i, (s, t) in enumerate(zip(starts, ends)) if s >= e['start'] and t <= e['end']]
        for k, i in enumerate(idx): tags[i] = ('B-' if k == 0 else 'I-') + e['label']
    return tags

def char_spans(words:list[str], tags:list[str])->set:
    from ft_nb.tags import spans
    starts = word_starts(words)
    return {(t, starts[s], starts[e - 1] + len(words[e - 1])) for t, s, e in spans(tags)}

def span_f1(gold:list[set], pred:list[set])->float:
    correct = sum(len(g & p) for g, p in zip(gold, pred)); n_g = sum(map(len, gold)); n_p = sum(map(len, pred))
    return 2 * correct / max(n_g + n_p, 1)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True); ap.add_argument('--data', required=True)
    ap.add_argument('--conlleval', default=None); ap.add_argument('--json', default=None)
    args = ap.parse_args()
    from ft_nb.data.conll import read_conll
    from ft_nb.metrics import EntityScorer
    sents, _ = read_conll(args.data)
    res = {'model': args.model, 'data': args.data, 'sentences': len(sents)}
    with tempfile.TemporaryDirectory() as tmp:
        preds_file, text_file = Path(tmp)/'predictions.conll', Path(tmp)/'text.txt'
        t = time.perf_counter()
        scores = json.loads(run(['ft-nb', 'eval', '--model', args.model, '--data', args.data, '--json',
                                 '--predictions', str(preds_file)]).stdout)
        res['eval_f1'], res['eval_s'] = scores['f1'], round(time.perf_counter() - t, 1)
        text_file.write_text(''.join(' '.join(s.words) + '\n' for s in sents), encoding='utf-8')
        out = {}
        for words in ('whitespace', 'conll'):
            t = time.perf_counter()
            lines = run(['ft-nb', 'predict', '--model', args.model, '--input', str(text_file), '--words', words]).stdout.splitlines()
            out[words] = [json.loads(l)['entities'] for l in lines]; res[f'predict_{words}_s'] = round(time.perf_counter() - t, 1)
        pred_tags = [tags_from_entities(s.words, e) for s, e in zip(sents, out['whitespace'])]
        res['predict_whitespace_f1'] = EntityScorer().update([s.tags for s in sents], pred_tags).summary()['f1']
        gold = [char_spans(s.words, s.tags) for s in sents]
        for words in ('whitespace', 'conll'):
            res[f'raw_{words}_span_f1'] = span_f1(gold, [{(e['label'], e['start'], e['end']) for e in ents} for ents in out[words]])
        if args.conlleval:
            rep = run(['perl', args.conlleval], input=preds_file.read_text(encoding='utf-8')).stdout
            res['conlleval_f1'] = float(re.search(r'FB1:\s+([\d.]+)', rep).group(1)) / 100
    res['eval_minus_predict'] = res['eval_f1'] - res['predict_whitespace_f1']
    res['raw_conll_minus_whitespace'] = res['raw_conll_span_f1'] - res['raw_whitespace_span_f1']
    if 'conlleval_f1' in res: res['eval_minus_conlleval'] = res['eval_f1'] - res['conlleval_f1']
    for k, v in res.items(): print(f'{k:28s} {v:.4f}' if isinstance(v, float) else f'{k:28s} {v}')
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
