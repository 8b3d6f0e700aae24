"The helpers of `bench/context.py`: run names, the tokens an epoch really fed the model, and merged token counts (tiny tokenizer, no data needed)."

import importlib.util, json, sys
from argparse import Namespace
from pathlib import Path
import torch
from ft_nb.data.conll import Sentences
from ft_nb.data.core import Sentence, LabelVocab
from ft_nb.testing import tiny_tokenizer

ROOT = Path(__file__).parents[1]

def bench():
    spec = importlib.util.spec_from_file_location('context_bench', ROOT/'bench'/'context.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); return mod

def test_run_key():
    "The item length names a run only where it is not the default 128, so earlier results keep their names."
    key = bench().run_key
    assert key(64, 0.5, False, 42) == key(64, 0.5, False, 42, 128) == 'c64_d0.5_m0_s42'
    assert key(64, 0., True, 43, 60) == 'c64_d0_m1_L60_s43'
    assert key(64, 0., False, 43, 60) != key(64, 0., False, 43, 64)
    assert key(0, 0., False, 42, 128, True) == 'c0_d0_m0_tw_s42' != key(0, 0., False, 42) # with TokenWeightCB: a setting of its own

class FakeLearn:
    def __init__(self): self.training = True

def test_batch_tokens():
    "Per training epoch: the padded tokens (the batch's shape) and the real ones (its attention mask); validation batches do not count."
    cb, learn = bench().BatchTokens(), FakeLearn()
    cb.before_fit(learn)
    for epoch in range(2):
        learn.training = True; cb.before_epoch(learn)
        for m in ([[1, 1, 0], [1, 1, 1]], [[1, 0]] * (epoch + 1)):
            learn.batch = {'attention_mask': torch.tensor(m)}; cb.before_batch(learn)
        learn.training = False; cb.before_epoch(learn); cb.before_batch(learn) # validation
    assert cb.padded == [6 + 2, 6 + 4] and cb.real == [5 + 1, 5 + 2]

def test_tokens_merge(tmp_path):
    "`--tokens-only` adds its rows to the file, one per context and item length: a second item length keeps the first one's rows."
    b, tok = bench(), tiny_tokenizer('bert')
    words = [s.split() for s in ('the commission said on thursday', 'peter blackburn reported from brussels', 'germany said', 'talks would resume next week')]
    sents = Sentences([Sentence(w, ['O'] * len(w)) for w in words], [0, 2])
    vocab = LabelVocab(['O'])
    args = lambda max_len: Namespace(contexts='0,4', max_len=max_len, marker=False, dropout=0.5, bs=2, out=str(tmp_path/'context.json'))
    b.main_tokens(args(32), sents, sents, vocab, tok); b.main_tokens(args(8), sents, sents, vocab, tok); b.main_tokens(args(32), sents, sents, vocab, tok)
    rows = json.loads((tmp_path/'context_tokens.json').read_text())
    assert [(r['context'], r['max_len']) for r in rows] == [(0, 8), (0, 32), (4, 8), (4, 32)]
    at = {(r['context'], r['max_len']): r for r in rows}
    assert at[4, 32]['tokens_per_item'] > at[0, 32]['tokens_per_item'] # context adds tokens
    assert at[4, 8]['tokens_per_item'] <= 8 < at[4, 32]['tokens_per_item'] # and the item length caps them
    assert at[4, 32]['tokens_per_item_dropout'] <= at[4, 32]['tokens_per_item']
