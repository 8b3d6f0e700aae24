"Runs that stop and go on: killed and resumed runs end as uninterrupted ones; damaged checkpoints, other settings, a full disk, a diverged run."
import contextlib, errno, io, json, os, shutil, signal, subprocess, sys, time, warnings
from dataclasses import replace
from pathlib import Path
import pytest
import safetensors.torch
import torch
from conftest import ROOT, run, TAGGED, conll

ENV = os.environ | {'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'} # one thread: fast on a busy machine, and the same arithmetic in every process


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A tiny model folder and a small NER data set."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('resume')
    tiny_model_dir(d/'tiny')
    for split in ('train', 'valid'): (d/f'{split}.conll').write_text(conll(TAGGED * 10))
    return d

def quiet(f, *args):
    "Call `f` with its printing (banner, progress, summary) swallowed."
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter('ignore'); return f(*args)

def config(work, out, **kw):
    from ft_nb.config import TrainConfig
    return TrainConfig(**dict(train=str(work/'train.conll'), valid=str(work/'valid.conll'), model=str(work/'tiny'), bs=4, lr=1e-3,
                              epochs=2, patience=10, out=str(out)) | kw)

@pytest.fixture(scope='module')
def finished(work):
    "A finished run of 2 epochs (2 checkpoints kept), to copy: each test damages or continues its own copy."
    from ft_nb.train import fine_tune
    torch.set_num_threads(1)
    return quiet(fine_tune, config(work, work/'finished')), work/'finished'

@pytest.fixture
def copy(finished, tmp_path):
    "A copy of the finished run, and its settings."
    out = tmp_path/'run'; shutil.copytree(finished[1], out)
    return out

def ckpts(out:Path)->list[Path]: return sorted((out/'checkpoint').glob('ckpt-*'))

def latest(out:Path)->Path: return out/'checkpoint'/(out/'checkpoint'/'latest').read_text()

# ---- interrupted runs, in subprocesses, as a user interrupts them

def train_args(work, out, *more):
    return ['ft-nb', 'train', '--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'),
            '--model', str(work/'tiny'), '--bs', '2', '--lr', '1e-3', '--epochs', '3', '--patience', '10', '--out', str(out), *more]

def step_logged(out:Path)->int:
    "The step of the last training row of `out/log.csv` (rows without a metric), counted from the start of training."
    try: rows = [l for l in (out/'log.csv').read_text().splitlines() if l.endswith(',,')]
    except OSError: return 0
    return int(rows[-1].split(',')[0]) if rows else 0

def stop_at(args, out:Path, step:int, sig)->subprocess.CompletedProcess:
    "Run `args`, send `sig` once `out/log.csv` has logged training step `step`, wait for the end."
    proc = subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while proc.poll() is None and step_logged(out) < step and time.time() < deadline: time.sleep(0.05)
    if proc.poll() is None: proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)

def max_diff(a:Path, b:Path)->float:
    ta, tb = safetensors.torch.load_file(a), safetensors.torch.load_file(b)
    assert ta.keys() == tb.keys()
    return max((ta[k].float() - tb[k].float()).abs().max().item() for k in ta)

def test_killed_then_interrupted_run_resumes_to_the_uninterrupted_weights(work, tmp_path):
    "SIGKILL in epoch 2 (no checkpoint of that point: epoch 1's end is resumed), SIGINT in epoch 3 (a checkpoint of that batch), then `--resume OUT`."
    ref = subprocess.run(train_args(work, tmp_path/'ref'), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-3000:]
    out = tmp_path/'run' # 15 steps per epoch
    killed = stop_at(train_args(work, out), out, 20, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL and not (out/'model.safetensors').exists(), killed.stderr[-2000:]
    refused = run(*train_args(work, out), env=ENV) # the killed run is not trained over by mistake
    assert refused.returncode == 2 and 'holds a previous run (checkpoint)' in refused.stderr, refused.stderr[-2000:]
    interrupted = stop_at(train_args(work, out, '--resume', str(out)), out, 33, signal.SIGINT) # the log goes on from step 15
    assert interrupted.returncode == 130 and 'Traceback' not in interrupted.stderr, interrupted.stderr[-2000:]
    state = json.loads((latest(out)/'state.json').read_text())
    assert state['epoch'] == 2 and state['batches'] > 0 # saved within epoch 3, at the batch the signal came
    done = run(*train_args(work, out, '--resume', str(out)), env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    assert max_diff(tmp_path/'ref'/'model.safetensors', out/'model.safetensors') <= 1e-5 # the kept (best) weights
    assert max_diff(latest(tmp_path/'ref')/'model.safetensors', latest(out)/'model.safetensors') <= 1e-5 # the last weights too
    strip = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]
    history = lambda o: json.loads((o/'metrics.json').read_text())['history']
    assert strip(history(out)) == strip(history(tmp_path/'ref')) # 3 rows, none twice
    steps = [int(l.split(',')[0]) for l in (out/'log.csv').read_text().splitlines()[1:] if l.endswith(',,')]
    assert steps and steps == list(range(1, len(steps) + 1)) # log.csv: every step once, in order, across two resumes

def test_diverged_run_exits_2_and_saves_no_model(work, tmp_path):
    res = run(*train_args(work, tmp_path/'nan', '--lr', '1e20', '--epochs', '1'), env=ENV)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert 'training diverged: the training loss is nan at epoch 1, step ' in res.stderr and 'Traceback' not in res.stderr
    assert 'lower the learning rate (lr, --lr: try 1e+19)' in res.stderr
    assert not (tmp_path/'nan'/'model.safetensors').exists() and not ckpts(tmp_path/'nan')

# ---- the output folder

def test_out_that_is_a_file_or_not_writable_fails_before_the_data_is_read(work, tmp_path):
    from ft_nb.errors import OutputError
    from ft_nb.train import fine_tune
    (tmp_path/'file').write_text('x')
    missing = dict(train=str(tmp_path/'no-such.conll'), valid=str(tmp_path/'no-such.conll')) # reading them would fail otherwise
    with pytest.raises(OutputError, match='file: a file, not a folder'): fine_tune(replace(config(work, tmp_path/'file'), **missing))
    with pytest.raises(OutputError, match='a part of the path is a file'): fine_tune(replace(config(work, tmp_path/'file'/'sub'), **missing))
    if os.geteuid() != 0: # root writes anywhere
        (tmp_path/'ro').mkdir(); (tmp_path/'ro').chmod(0o500)
        with pytest.raises(OutputError, match='cannot write'): fine_tune(replace(config(work, tmp_path/'ro'), **missing))

def test_out_holding_a_run_is_refused_unless_overwritten(work, copy):
    from ft_nb.errors import OutputError
    from ft_nb.train import fine_tune
    with pytest.raises(OutputError, match='holds a previous run .checkpoint, model.safetensors, ft_nb.json.; continue it with --resume'):
        fine_tune(config(work, copy))
    res = quiet(fine_tune, config(work, copy, overwrite=True, epochs=1))
    assert len(res['history']) == 1 and len(ckpts(copy)) == 1 # the replaced run's two checkpoints are gone
    assert json.loads((latest(copy)/'state.json').read_text())['run']['config']['epochs'] == 1

# ---- resuming finished runs

def test_finished_run_resumed_with_the_same_epochs_says_so(work, copy):
    from ft_nb.errors import CheckpointError
    from ft_nb.train import fine_tune
    with pytest.raises(CheckpointError, match=r'nothing to resume: the run finished its 2 epochs.*resume with --epochs 3 or more'):
        fine_tune(config(work, copy, resume=str(copy)))

def test_finished_run_continues_with_more_epochs(work, copy, finished):
    from ft_nb.train import fine_tune
    res = quiet(fine_tune, config(work, copy, resume=str(copy), epochs=3)) # --resume OUT: the folder the user trained into
    assert [r['epoch_number'] for r in res['history']] == [1, 2, 3]
    strip = lambda rows: [{k: v for k, v in r.items() if k != 'time'} for r in rows]
    assert strip(res['history'][:2]) == strip(finished[0]['history']) # epochs 1-2 not run again
    assert json.loads((latest(copy)/'state.json').read_text())['epoch'] == 3

def test_resume_refuses_other_settings_or_data_and_names_the_difference(work, copy, tmp_path):
    from ft_nb.errors import CheckpointError
    from ft_nb.train import fine_tune
    def refused(match, **kw):
        with pytest.raises(CheckpointError, match=match): quiet(fine_tune, config(work, copy, resume=str(copy/'checkpoint'), epochs=3, **kw))
    refused(r"state.json: cannot resume with other settings or data: bs is 8, the checkpoint's run had 4", bs=8)
    refused(r"crf is True, the checkpoint's run had False", crf=True)
    (tmp_path/'more.conll').write_text(conll(TAGGED * 11))
    refused(r"train is .*more.conll.*; the training data has 33 items, the checkpoint's run had 30", train=str(tmp_path/'more.conll'))
    text = (work/'train.conll').read_text()
    try: # the same file name, other content
        (work/'train.conll').write_text(text.replace('Rome\tB-LOC', 'Paris\tB-LOC'))
        refused(r"the training data differs from the checkpoint's run's")
        (work/'train.conll').write_text(text.replace('Rome\tB-LOC', 'Rome\tB-GPE'))
        refused(r"the labels are \[.*'B-GPE'")
    finally: (work/'train.conll').write_text(text)
    with pytest.raises(CheckpointError, match=r"typo: no checkpoint to resume from \(no such folder\)"):
        fine_tune(config(work, tmp_path/'fresh', resume=str(tmp_path/'typo')))
    res = quiet(fine_tune, config(work, copy, resume=str(copy), epochs=3, patience=3, keep_checkpoints=False)) # these may change
    assert len(res['history']) == 3 and not (copy/'checkpoint').exists()

# ---- damaged checkpoints: the previous one is used, with a warning; with none left, an error naming the files

def damage_training_pt(f:Path): f.write_bytes(f.read_bytes()[:1000])
def damage_model(f:Path): f.write_bytes(f.read_bytes()[:-100])
def damage_optimizer(f:Path):
    t = torch.load(f, weights_only=True); t['optimizer']['state'][0]['exp_avg'] = torch.zeros(2, 2); torch.save(t, f)

@pytest.mark.parametrize('name,damage,problem', [('training.pt', damage_training_pt, 'training.pt: not a complete training state'),
                                                 ('model.safetensors', damage_model, 'model.safetensors: not a complete safetensors file'),
                                                 ('training.pt', damage_optimizer, "training.pt: the optimizer's exp_avg has shape (2, 2)")])
def test_damaged_latest_checkpoint_falls_back_to_the_previous(work, copy, name, damage, problem):
    from ft_nb.errors import CheckpointError
    from ft_nb.train import build_learner
    newest, older = ckpts(copy)[-1], ckpts(copy)[0]
    damage(newest/name)
    with pytest.warns(UserWarning) as caught: learn = build_learner(config(work, copy, resume=str(copy), epochs=3))
    assert f"resuming from {older}, because {newest/name}: " in str(caught[-1].message) and problem in str(caught[-1].message)
    assert learn.epoch == 1 and learn.run.resumed['folder'] == str(older) # epoch 2 is trained again, from the end of epoch 1
    damage(older/name)
    with pytest.raises(CheckpointError) as e: build_learner(config(work, copy, resume=str(copy), epochs=3))
    assert str(newest/name) in str(e.value) and str(older/name) in str(e.value) and problem in str(e.value)

def test_garbage_in_latest_falls_back_to_the_newest_checkpoint(work, copy):
    from ft_nb.train import build_learner
    (copy/'checkpoint'/'latest').write_bytes(b'\x00\xff rubbish')
    with pytest.warns(UserWarning, match="latest: names"): learn = build_learner(config(work, copy, resume=str(copy), epochs=3))
    assert learn.epoch == 2

# ---- a full disk

def test_full_disk_during_a_checkpoint_save_keeps_the_previous_one(work, copy, monkeypatch):
    from ft_nb.errors import OutputError
    from ft_nb.train import fine_tune
    before = latest(copy)
    def full(obj, f, *args, **kwargs): Path(f).write_bytes(b'\0' * 100); raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(torch, 'save', full)
    with pytest.raises(OutputError, match=r'\(the disk is full\); nothing was written there; the checkpoint that .*latest names is intact'):
        quiet(fine_tune, config(work, copy, resume=str(copy), epochs=3))
    monkeypatch.undo()
    assert latest(copy) == before and not [p for p in (copy/'checkpoint').iterdir() if p.name.startswith('.')] # no half-written folder
    res = quiet(fine_tune, config(work, copy, resume=str(copy), epochs=3)) # and it resumes
    assert len(res['history']) == 3
