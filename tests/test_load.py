"Tests for ft_nb.data.load: padding, bucketed sharded sampling, padding efficiency on CoNLL-2003, multi-task feeding."
from collections import Counter
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from ft_nb.core import bundled_model_dir, dev_data_dir
from ft_nb.data.load import (pad_sequences, PadCollator, BucketBatchSampler, padding_efficiency, make_loader,
                             train_valid_loaders, MultiTaskLoader)

def test_collator_pads_every_key_with_its_own_value():
    items = [{'input_ids': [5, 6, 7], 'token_type_ids': [0, 1, 1], 'labels': [-100, 2, 3], 'word_ids': [None, 0, 1]},
             {'input_ids': [5], 'token_type_ids': [0], 'labels': [-100], 'word_ids': [None]}]
    b = PadCollator(pad_token_id=9)(items)
    assert b['input_ids'].tolist() == [[5, 6, 7], [5, 9, 9]]
    assert b['token_type_ids'].tolist() == [[0, 1, 1], [0, 0, 0]]
    assert b['labels'].tolist() == [[-100, 2, 3], [-100, -100, -100]]
    assert b['attention_mask'].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert b['word_ids'] == [[None, 0, 1], [None]]
    assert all(b[k].dtype == torch.int64 for k in ('input_ids', 'token_type_ids', 'labels', 'attention_mask'))

@pytest.mark.parametrize('multiple, longest, expected', [(None, 13, 13), (8, 13, 16), (8, 16, 16), (64, 1, 64)])
def test_pad_to_multiple_of(multiple, longest, expected):
    b = PadCollator(0, pad_to_multiple_of=multiple)([{'input_ids': [1] * longest, 'label': 0}, {'input_ids': [1], 'label': 1}])
    assert b['input_ids'].shape == (2, expected) and b['attention_mask'].sum().item() == longest + 1
    assert b['labels'].tolist() == [0, 1]

@given(st.lists(st.lists(st.integers(0, 30000), min_size=1, max_size=40), min_size=1, max_size=20))
def test_pad_sequences_matches_a_python_loop(seqs):
    longest = max(map(len, seqs))
    assert pad_sequences(seqs, -1).tolist() == [s + [-1] * (longest - len(s)) for s in seqs]

@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), bs=st.integers(1, 40), replicas=st.integers(1, 5), drop_last=st.booleans(),
       shuffle=st.booleans(), seed=st.integers(0, 10))
def test_shards_are_disjoint_equal_and_cover(n, bs, replicas, drop_last, shuffle, seed):
    lengths = np.random.default_rng(n).integers(1, 100, n)
    shards = [list(BucketBatchSampler(lengths, bs, shuffle, seed=seed, num_replicas=replicas, rank=r, drop_last=drop_last))
              for r in range(replicas)]
    assert len({len(s) for s in shards}) == 1 and len(shards[0]) == len(BucketBatchSampler(lengths, bs, num_replicas=replicas, drop_last=drop_last))
    assert all(0 < len(b) <= bs for s in shards for b in s)
    flat = [i for s in shards for b in s for i in b]
    if drop_last:
        assert len(flat) == len(set(flat)) == n // (bs * replicas) * bs * replicas
        assert all(len(b) == bs for s in shards for b in s)
    elif 0 < (rest := n % (bs * replicas)) < replicas: # too few items left for every rank: some repeated, none lost
        assert set(flat) == set(range(n)) and len(flat) == n - rest + replicas
    else: assert sorted(flat) == list(range(n)) # disjoint and covering

def test_deterministic_per_seed_and_epoch():
    lengths = np.random.default_rng(1).integers(1, 200, 3000)
    a, b = BucketBatchSampler(lengths, 16, seed=3), BucketBatchSampler(lengths, 16, seed=3)
    assert list(a) == list(b)
    a.set_epoch(2); b.set_epoch(2)
    assert list(a) == list(b) != list(BucketBatchSampler(lengths, 16, seed=3))
    assert list(BucketBatchSampler(lengths, 16, seed=4)) != list(BucketBatchSampler(lengths, 16, seed=3))

def test_bucketing_beats_random_batches():
    lengths = np.random.default_rng(2).lognormal(3, 0.5, 5000).astype(int) + 3
    bucketed = padding_efficiency(lengths, BucketBatchSampler(lengths, 32))
    random = padding_efficiency(lengths, BucketBatchSampler(lengths, 32, bucket_batches=1))
    assert bucketed > 0.9 and random < 0.5

def test_loaders_cover_both_splits():
    enc = [{'input_ids': list(range(1, 2 + i % 17)), 'sent_idx': i} for i in range(300)]
    tr, va = train_valid_loaders(enc[:250], enc[250:], 0, batch_size=8, seed=1)
    assert sorted(i for b in tr for i in b['sent_idx']) == list(range(250))
    assert [i for b in va for i in b['sent_idx']] == sorted(range(250, 300), key=lambda i: -(1 + i % 17))

@pytest.mark.parametrize('mode', ['proportional', 'round_robin'])
def test_multitask_interleaving_counts(mode):
    enc = [{'input_ids': [1, 2, 3], 'sent_idx': i} for i in range(500)]
    loaders = {'a': make_loader(enc[:320], 0, 32), 'b': make_loader(enc[320:480], 0, 32), 'c': make_loader(enc[480:], 0, 32)}
    mt = MultiTaskLoader(loaders, mode=mode, seed=1)
    out = list(mt)
    assert Counter(k for k, _ in out) == {'a': 10, 'b': 5, 'c': 1} and len(mt) == 16
    assert sorted(i for _, b in out for i in b['sent_idx']) == list(range(500))
    if mode == 'round_robin': assert [k for k, _ in out][:5] == ['a', 'b', 'c', 'a', 'b']

def test_proportional_mixes_tasks_throughout_the_epoch():
    loaders = {'big': range(300), 'small': range(100)} # any sized iterables of batches will do
    sched = MultiTaskLoader(loaders, seed=0).schedule()
    for half in (sched[:200], sched[200:]): assert 35 <= half.count('small') <= 65

CONLL = dev_data_dir('conll2003')

@pytest.mark.skipif(CONLL is None, reason='shared/data/conll2003 is absent')
def test_conll2003_padding_efficiency():
    from transformers import AutoTokenizer
    sents, words = [], []
    for line in open(CONLL/'train.txt', encoding='utf-8'):
        cols = line.split()
        if not cols or cols[0] == '-DOCSTART-':
            if words: sents.append(words); words = []
        else: words.append(cols[0])
    if words: sents.append(words)
    assert len(sents) == 14041
    tok = AutoTokenizer.from_pretrained(bundled_model_dir())
    lengths = [len(x) for x in tok(sents, is_split_into_words=True)['input_ids']]
    bucketed = padding_efficiency(lengths, BucketBatchSampler(lengths, 32, seed=0))
    random = padding_efficiency(lengths, BucketBatchSampler(lengths, 32, bucket_batches=1, seed=0))
    print(f"CoNLL-2003 train, batch 32: bucketed {bucketed:.3f}, random {random:.3f}")
    assert bucketed >= 0.90 > random
