"Acceptance checks for `ft_nb.data.align` on all of CoNLL-2003 train (skipped where ../shared/data is absent)."

import pytest
from transformers import AutoTokenizer
from ft_nb.core import bundled_model_dir, dev_data_dir
from ft_nb.data.core import LabelVocab, Sentence
from ft_nb.data.align import STRATEGIES, Aligner
from ft_nb.data.conll import read_conll
from ft_nb.testing import TINY_ARCHS, tiny_tokenizer

@pytest.fixture(scope='module')
def train():
    d = dev_data_dir('conll2003')
    if d is None: pytest.skip('shared/data/conll2003 is absent')
    sents, _ = read_conll(d/'train.txt')
    assert (len(sents), sum(map(len, sents))) == (14041, 203621)
    return sents, LabelVocab.from_data(s.tags for s in sents)

@pytest.fixture(scope='module')
def bundled(): return AutoTokenizer.from_pretrained(bundled_model_dir())

def check_round_trip(tokenizer, sents, vocab, strategy, **kwargs):
    "Words -> tokens -> per-word tags from the gold token labels must give back every gold tag."
    al = Aligner(tokenizer, vocab, strategy=strategy, **kwargs)
    items = al.encode(sents)
    assert all(len(it['input_ids']) <= al.max_len for it in items)
    assert sorted({it['sent_idx'] for it in items}) == list(range(len(sents)))
    got = al.decode(items, [it['labels'] for it in items], sents)
    gold = [vocab.encode(s.tags) for s in sents]
    assert len(got) == len(gold)
    bad = next((i for i, (a, b) in enumerate(zip(got, gold)) if a != b), None)
    assert bad is None, f"sentence {bad}: {sents[bad].words} -> {got[bad]} != {gold[bad]}"
    assert al.unpredicted == 0
    return items

@pytest.mark.parametrize('strategy', STRATEGIES)
def test_round_trip_bundled(train, bundled, strategy): check_round_trip(bundled, *train, strategy)

@pytest.mark.parametrize('arch', TINY_ARCHS)
def test_round_trip_tiny(train, arch): check_round_trip(tiny_tokenizer(arch), *train, 'first')

def test_round_trip_windows(train, bundled):
    "With `max_len=16` most sentences are cut into overlapping windows; stitching still gives each word its own tag."
    sents, vocab = train
    items = check_round_trip(bundled, sents, vocab, 'all_bi', max_len=16, stride=3)
    assert len(items) > 1.5 * len(sents)
