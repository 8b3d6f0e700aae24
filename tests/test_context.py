"Acceptance checks for document context (`Aligner(context=N)`, `ft_nb.data.context`) on all of CoNLL-2003 train (skipped where ../shared/data is absent)."

import numpy as np
import pytest
from transformers import AutoTokenizer
from ft_nb.core import bundled_model_dir, dev_data_dir
from ft_nb.data.core import LabelVocab
from ft_nb.data.align import Aligner
from ft_nb.data.conll import read_conll
from ft_nb.data.context import doc_ids, documents, drop_context, first_documents

@pytest.fixture(scope='module')
def train():
    d = dev_data_dir('conll2003')
    if d is None: pytest.skip('shared/data/conll2003 is absent')
    sents, report = read_conll(d/'train.txt')
    assert (len(sents), len(sents.doc_starts), report.docs) == (14041, 946, 946)
    return sents, LabelVocab.from_data(s.tags for s in sents)

@pytest.fixture(scope='module')
def tok(): return AutoTokenizer.from_pretrained(bundled_model_dir())

def no_span(it): return {k: v for k, v in it.items() if k != 'context'}

@pytest.mark.parametrize('context,max_len', [(64, 128), (16, 64), (64, 16)])
def test_context_round_trip(train, tok, context, max_len):
    "Every word gets its gold tag back, every item fits, and without its context each item is the sentence-level one."
    sents, vocab = train
    al, plain = Aligner(tok, vocab, max_len=max_len, context=context), Aligner(tok, vocab, max_len=max_len)
    items, sentence_level = al.encode(sents), plain.encode(sents)
    assert all(len(it['input_ids']) <= max_len for it in items)
    assert [it['sent_idx'] for it in items] == [it['sent_idx'] for it in sentence_level] # the same windows of long sentences
    assert [no_span(drop_context(it)) for it in items] == sentence_level
    got = al.decode(items, [it['labels'] for it in items], sents)
    assert got == [vocab.encode(s.tags) for s in sents] and al.unpredicted == 0
    with_context = np.mean([it['context'][0] < it['context'][1] or it['context'][2] < it['context'][3] for it in items])
    assert with_context > (0.9 if max_len >= 64 else 0.), with_context

def _words_at(tok, words, text, end:bool)->int:
    "How many words at the end (or the start) of `words` decode to `text`; an `AssertionError` if no number does."
    for k in range(len(words) + 1):
        part = words[len(words) - k:] if end else words[:k]
        if tok.decode(tok(part, is_split_into_words=True, add_special_tokens=False)['input_ids']) == text: return k
    raise AssertionError(f"{text!r} is not made of the words next to the sentence: {words[:3]}...{words[-3:]}")

def test_context_stays_in_its_document(train, tok):
    "The context of an item is made of the words next to its sentence in the same document, at most N on each side."
    sents, vocab = train
    N = 16; items = Aligner(tok, vocab, max_len=128, context=N).encode(sents)
    docs, words = doc_ids(len(sents), sents.doc_starts), [s.words for s in sents]
    by_sent = {it['sent_idx']: it for it in items if 'context' in it and it['context'][2] - it['context'][1] > 0}
    for i in np.random.default_rng(0).choice(len(sents), 300, replace=False):
        it = by_sent[i] # a sentence's only item, or its last window (which has no context)
        first, start, end, last = it['context']
        before = [w for j in range(i) if docs[j] == docs[i] for w in words[j]][-N:]
        after = [w for j in range(i + 1, len(sents)) if docs[j] == docs[i] for w in words[j]][:N]
        _words_at(tok, before, tok.decode(it['input_ids'][first:start]), end=True)
        _words_at(tok, after, tok.decode(it['input_ids'][end:last]), end=False)

def test_first_documents(train):
    sents, _ = train
    head = first_documents(sents, 3000)
    assert 2900 < len(head) <= 3000 and head.doc_starts[0] == 0
    assert [len(d) for d in documents(head)] == [len(d) for d in documents(sents)][:len(head.doc_starts)]

def test_cli_context_end_to_end(tmp_path, capsys):
    "`ft-nb train --context` saves the setting; eval uses it (or `--context 0`); predict reads blank-line documents, a line out per line in."
    import json
    from ft_nb.cli import main
    from ft_nb.testing import tiny_model_dir
    tiny = tiny_model_dir(tmp_path/'tiny')
    doc = "-DOCSTART- O\n\nPeter B-PER\nflew O\nto O\nRome B-LOC\n\nRome B-LOC\nwon O\n\n"
    (tmp_path/'train.conll').write_text(doc * 6)
    args = ['train', '--train', str(tmp_path/'train.conll'), '--valid', str(tmp_path/'train.conll'), '--model', str(tiny),
            '--epochs', '1', '--bs', '4', '--context', '8', '--context-dropout', '0.5', '--out', str(tmp_path/'run')]
    assert main(args) == 0
    meta = json.loads((tmp_path/'run'/'ft_nb.json').read_text())['meta']
    assert (meta['context'], meta['config']['context'], meta['config']['context_dropout']) == (8, 8, 0.5)
    capsys.readouterr()
    for extra in ([], ['--context', '0']):
        assert main(['eval', '--model', str(tmp_path/'run'), '--data', str(tmp_path/'train.conll'), '--json', *extra]) == 0
        assert 'f1' in json.loads(capsys.readouterr().out)
    (tmp_path/'in.txt').write_text("Peter flew to Rome\nRome won\n\nRome won\n")
    assert main(['predict', '--model', str(tmp_path/'run'), '--input', str(tmp_path/'in.txt')]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(l)['text'] for l in lines] == ['Peter flew to Rome', 'Rome won', '', 'Rome won']
    assert main(['eval', '--model', str(tmp_path/'run'), '--data', str(tmp_path/'train.conll'), '--context', '-1']) == 2
