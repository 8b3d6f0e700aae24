"""Data-pipeline benchmark: tokenise and align a CoNLL training split, and measure padding efficiency.

    python bench/data.py [--train ../shared/data/conll2003/train.txt] [--bs 32] [--repeat 3]

Prints (1) the time ft-nb's `Aligner.encode` takes for the whole split in one batched call, beside the same work done
one sentence at a time (the reference, in the same process), as a ratio; (2) the padding efficiency (real tokens /
padded tokens) of length-bucketed batches against random batches of the same size."""
import argparse, os, time
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
import numpy as np
from transformers import AutoTokenizer
from ft_nb.core import bundled_model_dir, dev_data_dir
from ft_nb.data.core import LabelVocab
from ft_nb.data.conll import read_conll
from ft_nb.data.align import Aligner
from ft_nb.data.load import BucketBatchSampler, padding_efficiency

def best_of(f, repeat):
    "The fastest of `repeat` timed calls of `f`, and its result."
    times = []
    for _ in range(repeat): t = time.perf_counter(); out = f(); times.append(time.perf_counter() - t)
    return min(times), out

def main():
    default = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--train', default=str(default/'train.txt') if default else None, help="a CoNLL file (default: shared/data/conll2003/train.txt)")
    p.add_argument('--bs', type=int, default=32, help="batch size for padding efficiency")
    p.add_argument('--repeat', type=int, default=3, help="timed repetitions; the best is reported")
    args = p.parse_args()
    if not args.train: p.error("no --train file and no shared/data/conll2003 found")
    t_read, (sents, report) = best_of(lambda: read_conll(args.train), args.repeat)
    print(f"read {report}: {t_read:.2f} s")
    tok, vocab = AutoTokenizer.from_pretrained(bundled_model_dir()), LabelVocab.from_data(s.tags for s in sents)
    aligner = Aligner(tok, vocab)
    t_batched, items = best_of(lambda: aligner.encode(sents), args.repeat)
    t_single, _ = best_of(lambda: [aligner.encode([s]) for s in sents], 1)
    print(f"tokenise + align {len(sents):,} sentences ({sum(len(it['input_ids']) for it in items):,} tokens) with the bundled tokenizer:")
    print(f"  ft-nb, one batched call: {t_batched:.2f} s   one call per sentence (reference): {t_single:.2f} s   ratio {t_single / t_batched:.1f}x")
    lengths = [len(it['input_ids']) for it in items]
    bucketed = padding_efficiency(lengths, BucketBatchSampler(lengths, args.bs, seed=0))
    random_ = padding_efficiency(lengths, BucketBatchSampler(lengths, args.bs, bucket_batches=1, seed=0))
    print(f"padding efficiency at batch {args.bs}: bucketed {bucketed:.3f}, random {random_:.3f} (ratio {bucketed / random_:.2f}x)")

if __name__ == '__main__': main()
