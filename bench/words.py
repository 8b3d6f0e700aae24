"""Word-splitter benchmark: how well the default raw-text splitter gives back the words of tokenised CoNLL files.

    python bench/words.py [FILE ...] [--json bench/results/words.json]

For each file (default: CoNLL-2003 train and valid, CoNLL-2002 esp.testa and ned.testa under shared/data), the words of
every sentence are joined by single spaces and split again. Printed: the share of sentences split back into exactly
their words, and the share of words inside entities that come back whole, before (the first rule, as
`ft_nb.inference.split_words` had it up to commit 915d582) and after (`ft_nb.data.words.split_words`). The rule was
tuned on CoNLL-2003 train only; the other files are held out."""
import argparse, json, time
from pathlib import Path
import regex
from ft_nb.core import dev_data_dir
from ft_nb.data.conll import read_conll
from ft_nb.data.words import split_agreement, split_words

FIRST_RULE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]|[\p{L}\p{M}\p{N}_]+(?:['’\-][\p{L}\p{M}\p{N}_]+)*"
                           r"|(?![\s\x1c-\x1f])\X")
def first_words(text): return [(m.group(), m.start(), m.end()) for m in FIRST_RULE.finditer(text)]

FILES = [('conll2003', 'train.txt'), ('conll2003', 'valid.txt'), ('conll2002', 'esp.testa'), ('conll2002', 'ned.testa')]

def default_files():
    return [str(dev_data_dir(d)/f) for d, f in FILES if dev_data_dir(d) and (dev_data_dir(d)/f).exists()]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('files', nargs='*', help="CoNLL files (default: the four files above under shared/data)")
    p.add_argument('--json', help="also write the figures to this JSON file")
    args = p.parse_args()
    files = args.files or default_files()
    if not files: p.error("no files given and no shared/data/conll2003 or conll2002 found")
    print(f"{'file':24} {'sentences':>9}   {'sentences split back':>22}   {'entity words whole':>20}   {'split s':>7}")
    results = {}
    for path in files:
        sents, _ = read_conll(path)
        name = f'{Path(path).parent.name}/{Path(path).name}'
        before = split_agreement(sents, first_words)
        t = time.perf_counter(); after = split_agreement(sents, split_words); secs = time.perf_counter() - t
        results[name] = dict(sentences=len(sents), before=dict(zip(('sentences', 'entity_words'), before)),
                             after=dict(zip(('sentences', 'entity_words'), after)), seconds=round(secs, 2))
        print(f"{name:24} {len(sents):9,}   {before[0]:9.2%} → {after[0]:8.2%}   {before[1]:8.2%} → {after[1]:8.2%}   {secs:7.2f}")
    if args.json:
        with open(args.json, 'w') as f: json.dump(results, f, indent=1)

if __name__ == '__main__': main()
