"Broken model folders and checkpoints, as a download cut short, a hand edit or a full disk leave them: each is one clear `DataError`."
import errno, json, shutil
from pathlib import Path
import pytest
import torch
from safetensors.torch import save_file
from conftest import run
from ft_nb.data.core import DataError
from ft_nb import models
from ft_nb.models import load_model, load_tokenizer, load_encoder, save_model, token_classifier, encoder_from_config

TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']

@pytest.fixture(scope='session')
def good(tmp_path_factory):
    "A complete saved token classifier: a tiny random BERT with its tiny tokenizer."
    from ft_nb.testing import tiny_tokenizer, tiny_config
    tok = tiny_tokenizer('bert')
    folder = tmp_path_factory.mktemp('good')/'model'
    save_model(token_classifier(TAGS, encoder_from_config(tiny_config('bert', tok))), folder, tok, max_len=64)
    return folder

def edit_json(name, change):
    "A damage that rewrites JSON file `name` of the folder through `change(obj) -> obj`."
    def damage(d): (d/name).write_text(json.dumps(change(json.loads((d/name).read_text()))))
    return damage

def head(**fields): return edit_json('ft_nb.json', lambda i: i | {'heads': {'ner': i['heads']['ner'] | fields}})
def cut(name, keep): return lambda d: (d/name).write_bytes((d/name).read_bytes()[:keep])
def write(name, text): return lambda d: (d/name).write_text(text)
def remove(*names): return lambda d: [(d/n).unlink() for n in names]
def only(*names): return lambda d: [p.unlink() for p in d.iterdir() if p.name not in names]
def to_pickle(d): (d/'model.safetensors').rename(d/'pytorch_model.bin') # never opened: its content does not matter
def drop_head_weights(d):
    from safetensors.torch import load_file
    save_file({k: v for k, v in load_file(d/'model.safetensors').items() if not k.startswith('classifier')}, d/'model.safetensors')

# (case id, damage to the good folder, loader, the file named in the message ('' for the folder), what the message says)
CASES = [
    ('empty folder', only(), load_model, '', 'no config.json'),
    ('config.json only', only('config.json'), load_model, '', 'no model.safetensors'),
    ('config.json not JSON', write('config.json', '{"model_type": "bert",'), load_model, 'config.json', 'not readable JSON'),
    ('config.json a list', write('config.json', '[1, 2]'), load_model, 'config.json', 'a JSON list'),
    ('config.json custom code', edit_json('config.json', lambda c: c | {'auto_map': {'AutoModel': 'evil.M'}}), load_model,
     'config.json', 'asks to run custom code (auto_map)'),
    ('config.json unknown model_type', edit_json('config.json', lambda c: c | {'model_type': 'gpt-17'}), load_model, 'config.json',
     "model_type 'gpt-17'"),
    ('config.json no model_type', edit_json('config.json', lambda c: {k: v for k, v in c.items() if k != 'model_type'}), load_model,
     'config.json', 'model_type None'),
    ('config.json hidden_size a string', edit_json('config.json', lambda c: c | {'hidden_size': 'wide'}), load_model, 'config.json',
     'not a usable config'),
    ('config.json hidden_size wrong', edit_json('config.json', lambda c: c | {'hidden_size': 64}), load_model, 'model.safetensors',
     'has shape'),
    ('weights truncated', cut('model.safetensors', 20000), load_model, 'model.safetensors', 'not a complete safetensors file'),
    ('weights empty', write('model.safetensors', ''), load_model, 'model.safetensors', 'not a complete safetensors file'),
    ('weights garbage', write('model.safetensors', 'not a safetensors file at all'), load_model, 'model.safetensors',
     'not a complete safetensors file'),
    ('weights only pickled', to_pickle, load_model, '', 'weights only as pytorch_model.bin, which ft-nb never loads'),
    ('weights lack the head', drop_head_weights, load_model, 'model.safetensors', 'missing weights'),
    ('ft_nb.json not JSON', write('ft_nb.json', '{"heads": {'), load_model, 'ft_nb.json', 'not readable JSON'),
    ('ft_nb.json not an object', write('ft_nb.json', '"ner"'), load_model, 'ft_nb.json', 'a JSON str'),
    ('ft_nb.json no heads', edit_json('ft_nb.json', lambda i: i | {'heads': {}}), load_model, 'ft_nb.json', "no 'heads'"),
    ('ft_nb.json newer format', edit_json('ft_nb.json', lambda i: i | {'ft_nb_format': 2}), load_model, 'ft_nb.json', 'ft_nb_format is 2'),
    ('ft_nb.json head a list', edit_json('ft_nb.json', lambda i: i | {'heads': {'ner': []}}), load_model, 'ft_nb.json',
     "head 'ner': a list"),
    ('ft_nb.json unknown kind', head(kind='span'), load_model, 'ft_nb.json', "kind is 'span'"),
    ('ft_nb.json no labels', edit_json('ft_nb.json', lambda i: i | {'heads': {'ner': {'kind': 'token', 'dropout': 0.1}}}), load_model,
     'ft_nb.json', "no 'labels'"),
    ('ft_nb.json labels a string', head(labels='O B-PER'), load_model, 'ft_nb.json', "labels is 'O B-PER'"),
    ('ft_nb.json duplicate labels', head(labels=['O', 'O', 'B-PER', 'I-PER', 'B-LOC']), load_model, 'ft_nb.json', 'labels is'),
    ('ft_nb.json dropout a string', head(dropout='0.1'), load_model, 'ft_nb.json', "dropout is '0.1'"),
    ('ft_nb.json dropout 1', head(dropout=1.0), load_model, 'ft_nb.json', 'dropout is 1.0'),
    ('ft_nb.json crf "no"', head(crf='no'), load_model, 'ft_nb.json', "crf is 'no'; expected true or false"),
    ('ft_nb.json bad pooling', head(kind='sequence', pooling='max'), load_model, 'ft_nb.json', "pooling is 'max'"),
    ('ft_nb.json loss weight NaN', edit_json('ft_nb.json', lambda i: i | {'loss_weights': {'ner': float('nan')}}), load_model,
     'ft_nb.json', 'loss_weights is'),
    ('label map longer than the weights', head(labels=TAGS + ['B-ORG', 'I-ORG']), load_model, 'model.safetensors',
     'classifier.weight has shape (5, 32), but config.json and ft_nb.json describe (7, 32)'),
    ('label map shorter than the weights', head(labels=TAGS[:3]), load_model, 'model.safetensors', 'classifier.weight has shape (5, 32)'),
    ('hf label map mismatch', lambda d: (remove('ft_nb.json')(d), edit_json('config.json', lambda c: c | {
        'id2label': {'0': 'O', '1': 'B-X'}, 'label2id': {'O': 0, 'B-X': 1}})(d)), load_model, 'model.safetensors', 'has shape (5, 32)'),
    ('no tokenizer files', remove('tokenizer.json', 'tokenizer_config.json'), load_tokenizer, '', 'no tokenizer files'),
    ('tokenizer.json truncated', cut('tokenizer.json', 300), load_tokenizer, '', 'tokenizer files could not be loaded'),
    ('vocab.json without merges.txt', lambda d: (remove('tokenizer.json')(d), write('vocab.json', '{}')(d)), load_tokenizer, '',
     'no tokenizer files'),
    ('vocabulary of special tokens only', lambda d: (remove('tokenizer.json', 'tokenizer_config.json')(d),
        write('vocab.txt', '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n')(d)), load_tokenizer, '', 'the tokenizer knows only 0 tokens'),
    ('tokenizer of a config-only folder', only('config.json'), load_tokenizer, '', 'no tokenizer files'),
    ('encoder: config.json only', only('config.json'), load_encoder, '', 'no model.safetensors'),
    ('encoder: weights only pickled', to_pickle, load_encoder, '', 'never loads (unpickling can run code)'),
    ('encoder: custom code', edit_json('config.json', lambda c: c | {'auto_map': {'AutoModel': 'evil.M'}}), load_encoder, 'config.json',
     'custom code'),
    ('encoder: weights truncated', cut('model.safetensors', 20000), load_encoder, 'model.safetensors', 'not a complete safetensors file'),
    ('encoder: no such folder', lambda d: shutil.rmtree(d), load_encoder, '', 'no such model folder'),
    ('a file, not a folder', lambda d: (shutil.rmtree(d), d.write_text('')), load_model, '', 'no such model folder'),
]

def assert_one_clear_error(excinfo, named:Path, says:str):
    "The error is a `DataError`, on one line, naming `named` and saying `says`, not a traceback."
    message = str(excinfo.value)
    assert excinfo.type is DataError or issubclass(excinfo.type, DataError), excinfo.type
    assert '\n' not in message and 'Traceback' not in message, message
    assert str(named) in message, (str(named), message)
    assert says in message, (says, message)

def test_enough_cases(): assert len(CASES) >= 20 and len({c[0] for c in CASES}) == len(CASES)

@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_folder(good, tmp_path, case):
    name, damage, loader, named, says = case
    folder = tmp_path/'model'; shutil.copytree(good, folder); damage(folder)
    with pytest.raises(DataError) as excinfo: loader(folder)
    assert_one_clear_error(excinfo, folder/named if named else folder, says)

def test_good_folder_loads(good):
    "The undamaged folder of the table loads: the errors above come from the damage alone."
    assert load_model(good).heads['ner'].labels == TAGS and len(load_tokenizer(good)) == 400
    assert type(load_encoder(good)).__name__ == 'BertModel'

def test_full_disk_keeps_the_old_model(good, tmp_path, monkeypatch):
    folder = tmp_path/'model'; shutil.copytree(good, folder); before = {p.name: p.read_bytes() for p in folder.iterdir()}
    def full(tensors, filename, metadata=None): Path(filename).write_bytes(b'\0' * 64); raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(models, 'save_file', full)
    with pytest.raises(DataError) as excinfo: save_model(load_model(good), folder, load_tokenizer(good))
    assert_one_clear_error(excinfo, folder, '(the disk is full); the previous content is unchanged')
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before and [p.name for p in tmp_path.iterdir()] == ['model']

def test_save_onto_a_file(good, tmp_path):
    (tmp_path/'model').write_text('')
    with pytest.raises(DataError) as excinfo: save_model(load_model(good), tmp_path/'model')
    assert_one_clear_error(excinfo, tmp_path/'model', 'a file; expected a folder')

# checkpoints: a tiny run that saves one, then the damage a crash or a disk can do to it
@pytest.fixture(scope='session')
def checkpoint(tmp_path_factory):
    from ft_nb.callbacks.checkpoint import CheckpointCB
    folder = tmp_path_factory.mktemp('ckpt')/'checkpoint'
    learn = tiny_learner(); learn.cbs.append(CheckpointCB(folder)); learn.fit(1)
    return folder

def tiny_learner():
    from transformers import BertConfig
    from ft_nb.data.load import make_loader
    from ft_nb.learner import Learner
    torch.manual_seed(0)
    items = [dict(input_ids=[5 + i % 7, 9, 11 + i % 3], labels=[i % 3, 0, 1]) for i in range(16)]
    cfg = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    return Learner(token_classifier(['a', 'b', 'c'], encoder_from_config(cfg)), make_loader(items, 0, 8), None)

CHECKPOINT_CASES = [
    ('latest garbage, no other checkpoint', lambda d: (shutil.rmtree(d/'ckpt-000001'), (d/'latest').write_bytes(b'\x00\xff')), 'latest',
     'not a checkpoint folder'),
    ('latest names a missing folder', lambda d: (shutil.rmtree(d/'ckpt-000001'), (d/'latest').write_text('ckpt-000099')), 'latest',
     "names 'ckpt-000099'"),
    ('training.pt truncated', lambda d: cut('training.pt', 500)(d/'ckpt-000001'), 'ckpt-000001/training.pt', 'not a complete training state'),
    ('training.pt not a dict of parts', lambda d: torch.save({'optimizer': {}}, d/'ckpt-000001'/'training.pt'), 'ckpt-000001/training.pt',
     "lacks ['scheduler'"),
    ('weights truncated', lambda d: cut('model.safetensors', 100)(d/'ckpt-000001'), 'ckpt-000001/model.safetensors',
     'not a complete safetensors file'),
    ('state.json garbage', lambda d: write('state.json', '{"epoch"')(d/'ckpt-000001'), 'ckpt-000001/state.json', 'not readable JSON'),
    ('state.json incomplete', lambda d: write('state.json', '{"epoch": 1}')(d/'ckpt-000001'), 'ckpt-000001/state.json', "no ['batches'"),
]

@pytest.mark.parametrize('case', CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_bad_checkpoint(checkpoint, tmp_path, case):
    from ft_nb.callbacks.checkpoint import resume
    name, damage, named, says = case
    folder = tmp_path/'checkpoint'; shutil.copytree(checkpoint, folder); damage(folder)
    with pytest.raises(DataError) as excinfo: resume(tiny_learner(), folder)
    assert_one_clear_error(excinfo, folder/named, says)

def test_garbage_latest_falls_back(checkpoint, tmp_path):
    "With `latest` damaged, the good checkpoint folder is used, with a warning naming the damage."
    from ft_nb.callbacks.checkpoint import resume
    folder = tmp_path/'checkpoint'; shutil.copytree(checkpoint, folder); (folder/'latest').write_text('rubbish')
    with pytest.warns(UserWarning, match='latest: names .rubbish., not a checkpoint folder'): state = resume(tiny_learner(), folder)
    assert state['epoch'] == 1

def test_stray_folders_do_not_break_a_save(checkpoint, tmp_path):
    from ft_nb.callbacks.checkpoint import CheckpointCB, resume
    folder = tmp_path/'checkpoint'; shutil.copytree(checkpoint, folder)
    (folder/'ckpt-000001-backup').mkdir(); (folder/'.ckpt-000002.abc.tmp').mkdir()
    learn = tiny_learner(); learn.cbs.append(CheckpointCB(folder)); resume(learn, folder); learn.fit(2)
    assert sorted(p.name for p in folder.iterdir()) == ['.ckpt-000002.abc.tmp', 'ckpt-000001-backup', 'ckpt-000002', 'latest']

def test_cli_bad_model_is_one_line(good, tmp_path):
    "Through the console script: exit 2, one line naming the folder, no traceback."
    for damage, says in [(to_pickle, 'never loads'), (remove('tokenizer.json', 'tokenizer_config.json'), 'no tokenizer files')]:
        folder = tmp_path/'model'; shutil.rmtree(folder, ignore_errors=True); shutil.copytree(good, folder); damage(folder)
        (tmp_path/'in.txt').write_text('Peter flew to Rome\n')
        res = run('ft-nb', 'predict', '--model', str(folder), '--input', str(tmp_path/'in.txt'))
        assert res.returncode == 2 and 'Traceback' not in res.stderr, res.stderr[-2000:]
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and str(folder) in lines[0] and says in lines[0], res.stderr
