"Tests for multi-task runs (ft_nb.multitask) on a tiny random model: configs that go wrong, the command line, the saved heads."
import contextlib, io, json
from dataclasses import replace
from pathlib import Path
import pytest
from ft_nb.config import TrainConfig, check_config, read_config
from ft_nb.errors import ConfigError
from ft_nb.testing import tiny_model_dir
from conftest import run

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    "A tiny encoder folder, a CoNLL file and a TSV file."
    d = tmp_path_factory.mktemp('mt'); tiny_model_dir(d/'tiny')
    rows = [('The European Commission said on Thursday', 'O B-ORG I-ORG O O O'), ('Peter Blackburn', 'B-PER I-PER')]
    (d/'ner.conll').write_text('\n\n'.join('\n'.join(f"{w} {t}" for w, t in zip(s.split(), ts.split())) for s, ts in rows * 4) + '\n')
    (d/'sst.tsv').write_text('sentence\tlabel\n' + ''.join(f"{t}\t{l}\n" for t, l in [('a charming journey', 'pos'), ('bleak and desperate', 'neg')] * 4))
    return d

def tasks(d:Path, **sst)->list[dict]:
    return [dict(task='ner', train=str(d/'ner.conll'), valid=str(d/'ner.conll')),
            dict(task='classify', name='sentiment', train=str(d/'sst.tsv'), valid=str(d/'sst.tsv'), text_col='sentence') | sst]

def tiny_cfg(d:Path, out:str, **kw)->TrainConfig:
    return TrainConfig(tasks=tasks(d), model=str(d/'tiny'), out=str(d/out), **(dict(epochs=1, bs=4, lr=1e-3, max_len=32) | kw))

BAD = [ # (the tasks part of a YAML file, the line it starts on is 2; what the error says)
    ("tasks:\n  - {task: ner, train: a, valid: b}\n  - {task: classify, train: a, valid: b, weigth: 2}\n",
     "run.yaml:3: tasks[1]: unknown setting 'weigth' (did you mean weight?)"),
    ("tasks:\n  - task: ner\n    train: a\n    valid: b\n    lr: 1e-3\n", "run.yaml:5: tasks[0].lr: a setting all tasks share"),
    ("tasks:\n  - {task: ner, train: a, valid: b, name: x}\n  - {task: classify, train: a, valid: b, name: x}\n",
     "run.yaml:3: tasks[1].name: 'x': tasks[0] has that name too"),
    ("tasks:\n  - {task: ner, train: a}\n", "run.yaml:2: tasks[0]: no valid"),
    ("tasks:\n  - {task: ner, train: a, valid: b, weight: 0}\n", "run.yaml:2: tasks[0].weight: 0: expected a finite number > 0"),
    ("tasks:\n  - {task: ner, train: a, valid: b, name: 'my head'}\n", "tasks[0].name: 'my head': expected a head name"),
    ("tasks: []\n", "run.yaml:1: tasks: []: expected a non-empty list of tasks"),
    ("tasks:\n  - ner\n", "run.yaml:2: tasks[0]: 'ner': expected a mapping of a task's settings"),
]

@pytest.mark.parametrize('text,message', BAD)
def test_bad_tasks_name_their_line(tmp_path, text, message):
    (tmp_path/'run.yaml').write_text(text)
    with pytest.raises(ConfigError) as e: read_config(tmp_path/'run.yaml')
    assert message in str(e.value)

def test_monitor_and_files_agree_with_tasks(files):
    cfg = tiny_cfg(files, 'x')
    assert check_config(replace(cfg, monitor='sentiment')).monitor == 'sentiment'
    with pytest.raises(ConfigError, match="monitor: 'sentimen': expected 'mean' or a task's name .*did you mean sentiment"):
        check_config(replace(cfg, monitor='sentimen'))
    with pytest.raises(ConfigError, match="valid: 'v.conll': a multi-task run reads each task's own files"): check_config(replace(cfg, valid='v.conll'))

def test_cli_bad_config_is_one_line(tmp_path):
    (tmp_path/'run.yaml').write_text("epochs: 1\ntasks:\n  - {task: ner, train: a, valid: b}\n  - {task: nerr, train: a, valid: b}\n")
    r = run('ft-nb', 'train', '--config', str(tmp_path/'run.yaml'))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "run.yaml:4: tasks[1].task: 'nerr': expected one of" in r.stderr
    r = run('ft-nb', 'train', '--tasks', '[{task: ner, train: a}]')
    assert r.returncode == 2 and "argument --tasks: tasks[0]: no valid" in r.stderr

def test_round_robin_run_watching_one_task(files):
    from ft_nb.multitask import fine_tune_multitask
    from ft_nb.models import load_model, load_head
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        res = fine_tune_multitask(tiny_cfg(files, 'rr', mix='round_robin', monitor='ner', epochs=2))
    assert res['monitor'] == 'ner_f1' and len(res['history']) == 2
    assert {'ner_f1', 'sentiment_accuracy', 'sentiment_macro_f1', 'mean'} <= set(res['history'][-1])
    assert 'round_robin: batches a batch of each task in turn (2 ner, 2 sentiment per epoch)' in printed.getvalue()
    assert 'watching  valid ner_f1' in printed.getvalue()
    info = json.loads((files/'rr'/'ft_nb.json').read_text())
    assert info['hf_head'] == 'ner' and set(info['meta']['heads']) == {'ner', 'sentiment'}
    assert info['meta']['heads']['sentiment']['config']['text_col'] == 'sentence'
    sentiment = load_head(files/'rr', 'sentiment')
    assert list(sentiment.heads) == ['sentiment'] and sentiment.meta['task'] == 'classify' and sentiment.heads['sentiment'].labels == ['neg', 'pos']
    assert list(load_model(files/'rr').heads) == ['ner', 'sentiment']

def test_continue_one_task_from_a_multitask_folder(files):
    "A single-task run given a multi-task folder as --model continues the head its task trains (the saved encoder with it)."
    from ft_nb.multitask import fine_tune_multitask
    from ft_nb.train import fine_tune
    with contextlib.redirect_stdout(io.StringIO()): fine_tune_multitask(tiny_cfg(files, 'mt'))
    cfg = TrainConfig(task='classify', train=str(files/'sst.tsv'), valid=str(files/'sst.tsv'), text_col='sentence', model=str(files/'mt'),
                      epochs=1, bs=4, max_len=32, out=str(files/'sst-more'))
    with contextlib.redirect_stdout(io.StringIO()) as printed: fine_tune(cfg)
    assert "its 'sentiment' head" in printed.getvalue() and 'left out the saved model\'s other heads: ner' in printed.getvalue()

def test_weights_scale_each_task_loss(files):
    from ft_nb.multitask import build_multitask_learner
    with contextlib.redirect_stdout(io.StringIO()):
        learn = build_multitask_learner(replace(tiny_cfg(files, 'w'), tasks=tasks(files, weight=0.25)), trains=False)
    assert learn.model.loss_weights == {'ner': 1., 'sentiment': .25}
    task, batch = next(iter(learn.train_dl))
    w = learn.model.loss_weights[task]; out = learn.model(**batch, task=task)
    head = learn.model.heads[task]
    expected = w * head.loss(out['logits'], batch['labels'], word_ids=batch.get('word_ids'))
    assert abs(float(out['loss'].detach()) - float(expected.detach())) < 1e-5

def test_interrupted_mid_epoch_resumes_to_the_uninterrupted_run(files, monkeypatch):
    "Ctrl-C in the middle of the first epoch, then --resume: the same history as the run never stopped (the tasks' order, shuffles, weights)."
    import signal, ft_nb.learner
    # oneDNN's products are not bitwise repeatable from run to run here (two identical multi-task runs differ), plain ones are
    monkeypatch.setattr(ft_nb.learner, 'use_fast_linear', lambda *args, **kwargs: [])
    from ft_nb.learner import Callback
    from ft_nb.multitask import build_multitask_learner, fine_tune_multitask
    from ft_nb.train import InterruptCB
    cfg = lambda out, **kw: tiny_cfg(files, out, epochs=2, **kw)
    with contextlib.redirect_stdout(io.StringIO()): whole = fine_tune_multitask(cfg('whole'))
    class CtrlC(Callback):
        def after_predict(self, learn):
            if learn.training and learn.epoch == 0 and learn.iter == 2: next(cb for cb in learn.cbs if isinstance(cb, InterruptCB))._request(signal.SIGINT, None)
    with contextlib.redirect_stdout(io.StringIO()):
        learn = build_multitask_learner(cfg('cut'))
        with pytest.raises(KeyboardInterrupt): learn.fit(2, cbs=[CtrlC()])
        resumed = fine_tune_multitask(cfg('cut', resume=str(files/'cut')))
    keys = ['train_loss', 'valid_loss', 'ner_f1', 'sentiment_accuracy', 'mean']
    for a, b in zip(whole['history'], resumed['history'], strict=True):
        assert all(abs(a[k] - b[k]) < 1e-4 for k in keys), {k: (a[k], b[k]) for k in keys}

def test_command_line_end_to_end_with_heads(files, tmp_path):
    "`ft-nb train --config` with `tasks` trains both heads through `fine_tune`; eval and predict choose a head with `--head`."
    import yaml
    from ft_nb.cli import main
    out = tmp_path/'cli'
    (tmp_path/'mt.yaml').write_text(yaml.safe_dump(dict(tasks=tasks(files), model=str(files/'tiny'), out=str(out), epochs=1, bs=4, max_len=32)))
    with contextlib.redirect_stdout(io.StringIO()) as printed: assert main(['train', '--config', str(tmp_path/'mt.yaml')]) == 0
    assert 'ner' in printed.getvalue() and 'sentiment' in printed.getvalue() and (out/'ft_nb.json').exists()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(['eval', '--model', str(out), '--data', str(files/'sst.tsv'), '--head', 'sentiment', '--json']) == 0
    assert 'accuracy' in json.loads(printed.getvalue())
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(['eval', '--model', str(out), '--data', str(files/'ner.conll'), '--head', 'ner', '--json']) == 0
    assert 'f1' in json.loads(printed.getvalue())
    (tmp_path/'texts.txt').write_text('a charming journey\n')
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(['predict', '--model', str(out), '--input', str(tmp_path/'texts.txt'), '--head', 'sentiment']) == 0
    assert json.loads(printed.getvalue())['label'] in ('neg', 'pos')
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(['eval', '--model', str(out), '--data', str(files/'ner.conll')]) == 2
    assert 'ner' in err.getvalue() and 'sentiment' in err.getvalue() # no head chosen: the heads are named
