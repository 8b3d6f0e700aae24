"A resume that asks for fewer epochs than its checkpoint holds, or for as many as a finished run has: refused before anything trains."
import contextlib, io, json, os, shutil, warnings
from pathlib import Path
import pytest
import torch
from conftest import TAGGED, conll


def quiet(f, *args):
    "Call `f` with its printing (banner, progress, summary) swallowed."
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter('ignore'); return f(*args)

def config(work:Path, out:Path, **kw):
    from ft_nb.config import TrainConfig
    return TrainConfig(**dict(train=str(work/'train.conll'), valid=str(work/'train.conll'), model=str(work/'tiny'), bs=4, lr=1e-3,
                              epochs=2, patience=10, out=str(out)) | kw)

@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A tiny model folder, a small NER data set and a finished run of 2 epochs on them."
    from ft_nb.testing import tiny_model_dir
    from ft_nb.train import fine_tune
    d = tmp_path_factory.mktemp('resume_epochs'); tiny_model_dir(d/'tiny'); (d/'train.conll').write_text(conll(TAGGED * 6))
    torch.set_num_threads(1); quiet(fine_tune, config(d, d/'finished'))
    return d

@pytest.fixture
def copy(work, tmp_path):
    "A copy of the finished run, to resume (or damage)."
    shutil.copytree(work/'finished', tmp_path/'run'); return tmp_path/'run'

def latest(out:Path)->Path: return out/'checkpoint'/(out/'checkpoint'/'latest').read_text()

def test_fewer_epochs_than_trained_are_refused_with_what_to_pass(work, copy):
    from ft_nb.errors import CheckpointError
    from ft_nb.train import build_learner
    with pytest.raises(CheckpointError) as e: quiet(build_learner, config(work, copy, resume=str(copy), epochs=1))
    assert str(e.value) == (f"{latest(copy)/'state.json'}: the checkpoint holds 2 epochs of training, more than --epochs 1 asks for "
                            "(epochs count from the start of the run); to continue it, resume with --epochs 3 or more")

def test_as_many_epochs_as_a_finished_run_has_leave_nothing_to_train(work, copy):
    from ft_nb.errors import CheckpointError
    from ft_nb.train import fine_tune
    before = json.loads((latest(copy)/'state.json').read_text())
    with pytest.raises(CheckpointError, match=r"state.json: nothing to resume: the run finished its 2 epochs, all that --epochs 2 asks; to continue it, resume with --epochs 3 or more$"):
        quiet(fine_tune, config(work, copy, resume=str(copy), epochs=2))
    assert json.loads((latest(copy)/'state.json').read_text()) == before # nothing retrained, nothing written

def test_within_an_epoch_the_epoch_must_be_finished(work, copy):
    "A checkpoint in the middle of epoch 2 of a run of 2 (as a kill leaves it): --epochs 1 would drop that epoch."
    from ft_nb.errors import CheckpointError
    from ft_nb.train import build_learner
    f = latest(copy)/'state.json'; state = json.loads(f.read_text())
    f.write_text(json.dumps(state | dict(epoch=1, batches=2)))
    with pytest.raises(CheckpointError, match=r"holds 1 epoch of training and 2 batches of epoch 2, more than --epochs 1 asks for .*"
                                              r"to finish its run, resume with --epochs 2$"):
        quiet(build_learner, config(work, copy, resume=str(copy), epochs=1))

def test_more_epochs_continue_a_finished_run(work, copy):
    from ft_nb.train import fine_tune
    res = quiet(fine_tune, config(work, copy, resume=str(copy), epochs=3))
    assert [r['epoch_number'] for r in res['history']] == [1, 2, 3]

def test_the_command_line_says_it_in_one_line(work, copy, capfd, monkeypatch):
    from ft_nb.cli import main
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    code = main(['train', '--train', str(work/'train.conll'), '--valid', str(work/'train.conll'), '--model', str(work/'tiny'), '--bs', '4',
                 '--lr', '1e-3', '--patience', '10', '--out', str(copy), '--resume', str(copy), '--epochs', '1'])
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith('ft-nb train: error: ') and f"{latest(copy)/'state.json'}: the checkpoint holds 2 epochs of training" in err[0], err[0]
    assert err[0].endswith('resume with --epochs 3 or more'), err[0]
