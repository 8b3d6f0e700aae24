"Token-budget batches for inference (`token_batches`, `Predictor(max_tokens=)`) on tiny random models: the same tags as fixed-count batches on every backend that takes them, and bench/inference.py's twins."
import json, sys
import numpy as np
import pytest
import torch
from conftest import ROOT
from ft_nb.core import set_seed
from ft_nb.evaluation import forward_batches, token_batches
from ft_nb.inference import Predictor
from ft_nb.models import token_classifier, encoder_from_config, save_model
from ft_nb.testing import tiny_tokenizer, tiny_config, TINY_CORPUS

LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
SENTS = [line.split() for line in TINY_CORPUS] + [['Rome'], ['Peter', 'Blackburn']] * 5 + [' '.join(TINY_CORPUS).split()]

@pytest.fixture(scope='module')
def tagger():
    set_seed(0); tok = tiny_tokenizer('bert')
    model = token_classifier(LABELS, encoder_from_config(tiny_config('bert', tok))).eval()
    with torch.no_grad(): model.heads['ner'].classifier.bias[1:] += 1. # some entities, so that the decoder has work
    return model, tok

def tags(pred, sents=SENTS): return [[t for t, _ in ws] for ws in pred.tag_words(sents)]

def shapes_seen(pred, sents=SENTS)->list[tuple]:
    "The (items, length) of every batch `pred`'s model runs on `sents`."
    out = []; h = pred.model.register_forward_pre_hook(lambda m, a, kw: out.append(tuple(kw['input_ids'].shape)), with_kwargs=True)
    try: pred.tag_words(sents)
    finally: h.remove()
    return out

@pytest.mark.parametrize('budget', [1, 40, 256, 100_000])
def test_budget_tags_as_counted_batches(tagger, budget):
    model, tok = tagger
    ref = tags(Predictor(model, tok, max_len=32, stride=4, batch_size=3, fast=False, max_tokens=None))
    pred = Predictor(model, tok, max_len=32, stride=4, fast=False, max_tokens=budget)
    assert tags(pred) == ref
    shapes = shapes_seen(pred)
    assert all(b * t <= budget or b == 1 for b, t in shapes), shapes
    if budget == 100_000: assert len(shapes) == 1 # everything in one batch
    capped = shapes_seen(Predictor(model, tok, max_len=32, stride=4, batch_size=3, fast=False, max_tokens=budget))
    assert max(b for b, _ in capped) <= 3

def test_default_batches(tagger):
    model, tok = tagger
    from ft_nb.inference import MAX_TOKENS
    pred = Predictor(model, tok)
    assert (pred.batch_size, pred.max_tokens) == (None, MAX_TOKENS)
    with pytest.raises(ValueError, match='give batch_size'): Predictor(model, tok, max_tokens=None)

def test_budget_int8_and_onnx(tagger, tmp_path, monkeypatch):
    pytest.importorskip('onnxruntime'); pytest.importorskip('onnxscript')
    monkeypatch.setenv('FT_NB_CACHE', str(tmp_path/'cache'))
    model, tok = tagger
    for kw in [dict(quantize='int8'), dict(backend='onnx'), dict(backend='onnx', quantize='int8')]:
        counted, budget = (Predictor(model, tok, max_len=32, stride=4, batch_size=b, fast=False, max_tokens=m, **kw) for b, m in ((3, None), (None, 96)))
        assert tags(budget) == tags(counted), kw

def test_forward_batches_budget_covers_items(tagger):
    model, tok = tagger
    from ft_nb.data.align import Aligner
    items = Aligner(tok, max_len=32, stride=4).encode(SENTS)
    seen = [i for idx, _, _ in forward_batches(model, items, tok.pad_token_id, max_tokens=64) for i in idx]
    assert sorted(seen) == list(range(len(items)))
    assert seen == np.argsort(-np.array([len(it['input_ids']) for it in items]), kind='stable').tolist()
    with pytest.raises(ValueError, match='max_tokens must be a positive'): token_batches([4], -1)

def test_bench_twins(tmp_path):
    "bench/inference.py runs each variant with `--bs` batches and its token-budget twin, and writes their ratio."
    pytest.importorskip('onnxruntime')
    from ft_nb.data.conll import write_conll
    from ft_nb.data.core import Sentence
    set_seed(0); tok = tiny_tokenizer('bert'); model = token_classifier(LABELS, encoder_from_config(tiny_config('bert', tok))).eval()
    save_model(model, tmp_path/'m', tok, max_len=32)
    write_conll([Sentence(s, ['O'] * len(s)) for s in SENTS], tmp_path/'gold.conll')
    sys.path.insert(0, str(ROOT/'bench'))
    import inference as bench
    bench.main(['--model', str(tmp_path/'m'), '--texts', str(tmp_path/'gold.conll'), '--n', '30', '--repeat', '1', '--no-cache-check',
                '--variants', 'eager', '--max-tokens', '128', '--sweep', '64', '--out', str(tmp_path/'out.json')])
    out = json.loads((tmp_path/'out.json').read_text())
    assert set(out['results']) == {'eager', 'eager_t128', 'eager_t64'} and out['results']['eager_t128']['max_tokens'] == 128
    assert {'eager_t128_over_eager', 'eager_t64_over_eager'} <= set(out['ratios'])
    assert len({r['f1'] for r in out['results'].values()}) == 1 # the same tags, whatever the batches
