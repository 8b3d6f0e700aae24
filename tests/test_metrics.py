"Tests for ft_nb.metrics: strict scores equal seqeval's on corrupted CoNLL-2003 valid, streaming in constant memory, errors, reports."
import random, time, tracemalloc
from collections import Counter
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, IOBES, Entities
from ft_nb.core import IGNORE_INDEX, dev_data_dir
from ft_nb.metrics import (spans, entity_counts, scores_from_counts, seqeval_report, corrupt_tags, EntityScorer, ClassificationScorer,
                           span_errors, entity_errors, error_counts, ERROR_KINDS, tags_from_ids, token_accuracy, token_vs_entity,
                           format_report, plot_tag_confusion, plot_type_confusion, plot_f1, highlight)

CONLL = dev_data_dir('conll2003')
SCORES = ['precision', 'recall', 'f1', 'support']

def read_tagged(path):
    "Words and NER tags (last column) per sentence of a CoNLL file."
    sents, words, tags = [], [], []
    for line in [*open(path, encoding='utf-8'), '']:
        cols = line.split()
        if cols and cols[0] != '-DOCSTART-': words.append(cols[0]); tags.append(cols[-1])
        elif words: sents.append((words, tags)); words, tags = [], []
    return sents

def synthetic_gold(n, seed=0, types=('PER', 'ORG', 'LOC', 'MISC')):
    "`n` random IOB2 sentences of 1 to 30 words."
    rng, out = random.Random(seed), []
    for _ in range(n):
        tags, length = [], rng.randint(1, 30)
        while len(tags) < length:
            if rng.random() < .92: tags.append('O')
            else: t = rng.choice(types); tags += [f'B-{t}'] + [f'I-{t}'] * rng.randint(0, 3)
        out.append(tags)
    return out

def corrupt_all(seqs, seed, p=0.2):
    rng = random.Random(seed)
    return [corrupt_tags(s, rng, p) for s in seqs]

def seqeval_strict(gold, pred, scheme=IOB2):
    "seqeval's own strict report, called as its documentation says, as a DataFrame."
    rep = classification_report(gold, pred, mode='strict', scheme=scheme, output_dict=True, zero_division=0)
    return pd.DataFrame(rep).T.rename(columns={'f1-score': 'f1'})

def assert_same_report(ours, theirs):
    assert list(ours.index) == list(theirs.index)
    assert ours[SCORES].values.tolist() == theirs[SCORES].values.tolist() # exactly: same counts, same float operations

@pytest.mark.skipif(CONLL is None, reason='shared/data/conll2003 is absent')
@pytest.mark.parametrize('p, seed', [(0.05, 0), (0.2, 1), (0.5, 2)])
def test_strict_scores_equal_seqeval_on_corrupted_conll2003_valid(p, seed):
    gold = [t for _, t in read_tagged(CONLL/'valid.txt')]
    assert len(gold) == 3250 and sum(entity_counts(gold, gold)['support'].values()) == 5942
    pred = corrupt_all(gold, seed, p)
    assert sum(g != q for g, q in zip(gold, pred)) > 100 * p # the corruption did happen
    theirs = seqeval_strict(gold, pred)
    assert_same_report(scores_from_counts(**entity_counts(gold, pred)), theirs)
    sc = EntityScorer()
    for i in range(0, len(gold), 100): sc.update(gold[i:i + 100], pred[i:i + 100])
    assert_same_report(sc.compute(), theirs)
    assert_same_report(sc.compute(None), seqeval_report(gold, pred, mode=None))
    assert sc.summary()['f1'] == theirs.loc['micro avg', 'f1'] < 1

def test_strict_scores_equal_seqeval_on_synthetic_data():
    gold = synthetic_gold(3000, seed=1)
    for seed, p in [(0, 0.1), (1, 0.4)]:
        pred = corrupt_all(gold, seed, p)
        theirs = seqeval_strict(gold, pred)
        assert_same_report(scores_from_counts(**entity_counts(gold, pred)), theirs)
        assert_same_report(EntityScorer().update(gold, pred).compute(), theirs)

def test_a_scorer_that_ignored_a_mistake_would_fail():
    "The comparison is sharp: counting one entity less changes the report."
    gold = synthetic_gold(500, seed=2); pred = corrupt_all(gold, 0)
    counts = entity_counts(gold, pred)
    counts['correct']['PER'] -= 1
    with pytest.raises(AssertionError): assert_same_report(scores_from_counts(**counts), seqeval_strict(gold, pred))

TAGS = {IOB2: ['O'] + [f'{p}-{t}' for p in 'BI' for t in ('PER', 'ORG')],
        IOBES: ['O'] + [f'{p}-{t}' for p in 'BIES' for t in ('PER', 'ORG')]}

@settings(max_examples=300, deadline=None)
@given(st.sampled_from([IOB2, IOBES]).flatmap(lambda s: st.tuples(st.just(s), st.lists(st.sampled_from(TAGS[s]), max_size=15))))
def test_span_extractor_matches_seqeval_strict_on_any_sequence(case):
    scheme, tags = case
    assert spans(tags, scheme.__name__) == {(e.tag, e.start, e.end) for e in Entities([tags], scheme).entities[0]}

def test_bioes_and_iob2_describe_the_same_entities():
    assert spans(['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC'], 'BIOES') == spans(['B-PER', 'I-PER', 'I-PER', 'O', 'B-LOC']) == {('PER', 0, 3), ('LOC', 4, 5)}
    with pytest.raises(ValueError, match="tag 'E-PER' at word 2"): spans(['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC']) # BIOES read as IOB2

def test_strict_and_lenient_differ_on_a_stray_inside_tag():
    gold, pred = [['B-PER', 'I-PER', 'O']], [['I-PER', 'I-PER', 'O']]
    assert seqeval_report(gold, pred).loc['micro avg', 'f1'] == 0.
    assert seqeval_report(gold, pred, mode=None).loc['micro avg', 'f1'] == 1.
    s = EntityScorer().update(gold, pred).summary()
    assert (s['f1'], s['lenient_f1']) == (0., 1.)

def pooled_batches(n, batch=500, pool=1000):
    gold = synthetic_gold(pool, seed=3); pred = corrupt_all(gold, 3, 0.3)
    for i in range(0, n, batch):
        idx = [(i + j) % pool for j in range(batch)]
        yield [gold[k] for k in idx], [pred[k] for k in idx]

def test_scorer_memory_is_flat_over_50k_sentences():
    sc, batches = EntityScorer(), pooled_batches(50_000)
    for _ in range(2): sc.update(*next(batches)) # every key the counters will ever hold is there after a few batches
    tracemalloc.start()
    try:
        for _ in range(8): sc.update(*next(batches))
        held_5k = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for g, p in batches: sc.update(g, p)
        held_50k, peak = tracemalloc.get_traced_memory()
    finally: tracemalloc.stop()
    print(f"held after 5k sentences {held_5k} B, after 50k {held_50k} B, peak between {peak} B")
    assert sc.n_sentences == 50_000
    assert held_50k - held_5k < 16 * 1024 and peak - held_5k < 1024 * 1024

def test_scorer_takes_padded_id_tensors():
    labels = ['O', 'B-PER', 'I-PER']
    gold = torch.tensor([[1, 2, 0, IGNORE_INDEX], [0, 1, IGNORE_INDEX, IGNORE_INDEX]])
    pred = torch.tensor([[1, 2, 0, 1], [0, 2, 1, 1]]) # predictions at padding must not count
    assert tags_from_ids(gold, pred, labels)[1] == [['B-PER', 'I-PER', 'O'], ['O', 'I-PER']]
    sc = EntityScorer(labels=labels).update(gold, pred)
    assert (sc.n_words, sc.strict['predicted'], sc.lenient['predicted']) == (5, Counter(PER=1), Counter(PER=2))

def test_errors_account_for_every_wrong_prediction():
    gold = synthetic_gold(1000, seed=4); pred = corrupt_all(gold, 4, 0.4)
    words = [[f'w{i}' for i in range(len(g))] for g in gold]
    errs = entity_errors(gold, pred, words)
    c = {k: sum(v.values()) for k, v in entity_counts(gold, pred).items()}
    assert errs.pred.notna().sum() == c['predicted'] - c['correct']
    assert errs[errs.kind == 'false negative'].gold.notna().all() and errs[errs.kind == 'false positive'].gold.isna().all()
    sc = EntityScorer().update(gold, pred)
    assert error_counts(errs).loc[ERROR_KINDS, 'total'].to_dict() == {k: sc.errors[k] for k in ERROR_KINDS}
    assert set(errs.kind) == set(ERROR_KINDS)

def test_wrong_type_and_wrong_boundary():
    g = {('PER', 0, 2), ('LOC', 3, 4)}
    assert span_errors(g, {('ORG', 0, 2), ('LOC', 3, 5)}) == [('wrong type', ('PER', 0, 2), ('ORG', 0, 2)), ('wrong boundary', ('LOC', 3, 4), ('LOC', 3, 5))]

def test_classification_scorer_matches_sklearn():
    from sklearn.metrics import classification_report as sk_report, accuracy_score, f1_score
    rng = np.random.default_rng(1)
    y, labels = rng.integers(0, 3, 5000), ['neg', 'neu', 'pos']
    yhat = np.where(rng.random(5000) < .6, y, rng.integers(0, 3, 5000))
    cs = ClassificationScorer(labels)
    for i in range(0, 5000, 256): cs.update(torch.tensor(y[i:i + 256]), [labels[k] for k in yhat[i:i + 256]])
    sk = pd.DataFrame(sk_report(y, yhat, target_names=labels, output_dict=True)).T
    assert np.allclose(cs.compute().loc[labels, ['precision', 'recall', 'f1']].values, sk.loc[labels, ['precision', 'recall', 'f1-score']].values.astype(float))
    assert cs.summary() == pytest.approx(dict(accuracy=accuracy_score(y, yhat), macro_f1=f1_score(y, yhat, average='macro')))

def test_all_o_model_is_accurate_on_tokens_and_worthless_on_entities():
    gold = synthetic_gold(2000, seed=6)
    side = token_vs_entity(gold, [['O'] * len(g) for g in gold], pad_to=128)
    assert side['token accuracy, O included'] > 0.8 and side['entity F1, strict'] == side['entity F1, lenient (conlleval)'] == 0.
    assert token_accuracy([['B-PER', 'O']], [['O', 'O']], pad_to=4) == 3/4

@pytest.mark.skipif(CONLL is None, reason='shared/data/conll2003 is absent')
def test_all_o_on_conll2003_valid():
    gold = [t for _, t in read_tagged(CONLL/'valid.txt')]
    all_o = [['O'] * len(g) for g in gold]
    assert token_accuracy(gold, all_o) > 0.83 and EntityScorer().update(gold, all_o).summary()['f1'] == 0.

def test_plots_and_text(tmp_path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    gold = synthetic_gold(300, seed=7); sc = EntityScorer().update(gold, corrupt_all(gold, 7))
    for fig, name in [(plot_tag_confusion(sc), 'tags'), (plot_type_confusion(sc), 'types'), (plot_f1(sc.compute()), 'f1')]:
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        fig.savefig(tmp_path/f'{name}.png'); plt.close(fig)
        assert (tmp_path/f'{name}.png').stat().st_size > 5000
    assert 'micro avg' in format_report(sc.compute())
    h = highlight(['Peter', 'Blackburn'], ['B-PER', 'I-PER'], ['B-ORG', 'O'])
    assert repr(h) == 'gold: [Peter Blackburn]PER\npred: [Peter]ORG Blackburn' and '<mark' in h._repr_html_()


def test_metrics_imports_no_tables_or_plots():
    "Importing ft_nb.metrics loads neither pandas nor matplotlib (nor scikit-learn, through seqeval): only the functions that need them do."
    import os, subprocess, sys
    from pathlib import Path
    code = "import sys, ft_nb.metrics; print(sorted(m for m in ('pandas', 'matplotlib', 'sklearn') if m in sys.modules))"
    env = os.environ | {'PYTHONPATH': str(Path(__file__).parent.parent)}
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env).stdout.strip() == '[]'


@given(st.lists(st.sampled_from(['O'] + [f'{p}-{t}' for p in 'BIES' for t in ('PER', 'ORG')]), max_size=15))
@settings(max_examples=300, deadline=None)
def test_lenient_counts_are_conllevals(tags):
    "The scorer's lenient entities are seqeval's `get_entities` (conlleval), on any sequence."
    from seqeval.metrics.sequence_labeling import get_entities
    from ft_nb.tags import lenient_spans
    assert lenient_spans(tags) == {(t, s, e + 1) for t, s, e in get_entities(tags)}
