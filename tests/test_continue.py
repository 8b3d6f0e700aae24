"Continued fine-tuning from the command line: `--model <saved folder>` keeps the head, grows it for a new label, says so; more epochs after a finished run."
import json, os
from pathlib import Path
import pytest
import safetensors.torch
from conftest import run, conll

OLD = [("Peter Blackburn flew to New York".split(), ['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'I-LOC']), # 7 labels: O and B-/I- of 3 types
       ("The European Commission said on Thursday".split(), ['O', 'B-ORG', 'I-ORG', 'O', 'O', 'O'])]
NEW = OLD + [("German advice to World Cup fans".split(), ['B-MISC', 'O', 'O', 'B-MISC', 'I-MISC', 'O'])]
ENV = os.environ | {'OMP_NUM_THREADS': '1'}


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    "A tiny encoder folder, data without and with MISC, and a model trained on the data without MISC."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('continue')
    tiny_model_dir(d/'tiny')
    (d/'old.conll').write_text(conll(OLD * 8)); (d/'new.conll').write_text(conll(NEW * 8))
    r = train(d, '--model', str(d/'tiny'), '--train', str(d/'old.conll'), '--out', str(d/'base'))
    assert r.returncode == 0, r.stderr[-3000:]
    return d

def train(d:Path, *args):
    return run('ft-nb', 'train', '--valid', str(d/'new.conll'), '--epochs', '2', '--bs', '4', '--lr', '1e-3', *args, env=ENV)

def head(folder:Path):
    "The classifier's weight and bias in a saved folder."
    t = safetensors.torch.load_file(folder/'model.safetensors')
    (w,), (b,) = ([v for k, v in t.items() if k.endswith(f'classifier.{p}')] for p in ('weight', 'bias'))
    return w, b

def test_a_new_label_grows_the_head_and_the_banner_says_so(base, tmp_path):
    r = train(base, '--model', str(base/'base'), '--train', str(base/'new.conll'), '--out', str(tmp_path/'more'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"continue the saved model in {base/'base'}: its encoder and its 'ner' head" in r.stdout
    assert "kept 7 labels of the saved model; added 2: B-MISC, I-MISC" in r.stdout
    old, new = (json.loads((f/'metrics.json').read_text())['labels'] for f in (base/'base', tmp_path/'more'))
    assert new == old + ['B-MISC', 'I-MISC'] # the saved ids first, unmoved
    assert head(tmp_path/'more')[0].shape[0] == 9 and head(base/'base')[0].shape[0] == 7

def test_same_labels_on_new_data_adds_none(base, tmp_path):
    from ft_nb.config import TrainConfig
    from ft_nb.train import build_learner
    cfg = TrainConfig(model=str(base/'base'), train=str(base/'old.conll'), valid=str(base/'new.conll'), out=str(tmp_path/'again'))
    learn = build_learner(cfg, trains=False)
    assert ('labels', 'kept 7 labels of the saved model; added none') in learn.run.task.start_notes()
    assert learn.model.heads['ner'].labels == json.loads((base/'base'/'metrics.json').read_text())['labels']

def test_a_continued_model_starts_from_the_saved_rows(base, tmp_path):
    "Before any training, the grown head gives the old labels the saved weights exactly."
    import torch
    from ft_nb.config import TrainConfig
    from ft_nb.train import build_learner
    cfg = TrainConfig(model=str(base/'base'), train=str(base/'new.conll'), valid=str(base/'new.conll'), out=str(tmp_path/'look'))
    grown = build_learner(cfg, trains=False).model.heads['ner']
    w, b = head(base/'base')
    assert torch.equal(grown.classifier.weight[:7].detach(), w) and torch.equal(grown.classifier.bias[:7].detach(), b)
    assert grown.labels[7:] == ['B-MISC', 'I-MISC']

def test_a_finished_run_resumed_with_more_epochs_logs_each_step_once(base, tmp_path):
    import shutil
    shutil.copytree(base/'base', tmp_path/'run')
    r = train(base, '--model', str(base/'tiny'), '--train', str(base/'old.conll'), '--out', str(tmp_path/'run'),
              '--resume', str(tmp_path/'run'), '--epochs', '3')
    assert r.returncode == 0, r.stderr[-3000:]
    history = json.loads((tmp_path/'run'/'metrics.json').read_text())['history']
    assert [h['epoch_number'] for h in history] == [1, 2, 3]
    steps = [int(l.split(',')[0]) for l in (tmp_path/'run'/'log.csv').read_text().splitlines()[1:] if l.endswith(',,')]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) == 3 * 4 # 16 sentences, batch 4: 4 steps an epoch
