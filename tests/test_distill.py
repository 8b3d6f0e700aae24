"Distillation from the command line and a config file (`ft-nb train --teacher DIR`), on tiny random models: what it writes, what it refuses."
import json
from pathlib import Path
import pytest
from conftest import run, TAGGED, conll, ft_nb, one_line_error





@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A tiny 3-layer encoder, one with another tokenizer, NER files, and a teacher trained on them with `ft-nb train`."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('distill')
    for name, arch in (('tiny', 'bert'), ('other', 'roberta')): tiny_model_dir(d/name, arch, num_hidden_layers=3)
    for split in ('train', 'valid'): (d/f'{split}.conll').write_text(conll(TAGGED * 4))
    (d/'more.conll').write_text(conll(TAGGED * 4 + [(['in', 'Paris'], ['O', 'B-CITY'])]))
    res = ft_nb('train', '--train', str(d/'train.conll'), '--valid', str(d/'valid.conll'), '--model', str(d/'tiny'),
                '--epochs', '2', '--bs', '4', '--lr', '3e-3', '--out', str(d/'teacher'))
    assert res.returncode == 0, res.stderr[-3000:]
    return d

def train(work, *args): return ft_nb('train', '--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'), '--epochs', '1', '--bs', '4', *args)

def test_student_cut_from_the_teacher(work):
    "`--teacher DIR --student-layers 2`: the banner says which layers, metrics.json and the card carry the report."
    out = work/'student'
    res = train(work, '--teacher', str(work/'teacher'), '--student-layers', '2', '--out', str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'the teacher cut to 2 of its 3 layers (layers 0, 2), its weights and its head copied' in res.stdout, res.stdout
    assert 'teacher logits of ' in res.stdout and 'distillation, on the valid split (12 sentences)' in res.stdout
    rep = json.loads((out/'metrics.json').read_text())['distillation']
    assert rep['student_from'] == {'layers_kept': [0, 2]} and rep['teachers'] == [str(work/'teacher')]
    assert rep['student']['parameters'] < rep['teacher']['parameters'] and rep['student']['size_mb'] < rep['teacher']['size_mb']
    assert {'speedup', 'score_loss', 'size_ratio'} <= set(rep) and rep['cached_items'] == 3 # three distinct sentences, four times each: one entry per input
    assert json.loads((out/'config.json').read_text())['num_hidden_layers'] == 2
    assert '## Distillation' in (out/'README.md').read_text()
    ev = ft_nb('eval', '--model', str(out), '--data', str(work/'valid.conll'), '--json') # a standard saved model
    assert ev.returncode == 0 and json.loads(ev.stdout)['f1'] == rep['student']['score'], ev.stderr

def test_config_file_and_two_teachers(work):
    "The same keys from a config file; two teachers (comma-separated) are averaged; `--model` is a student with the teacher's tokenizer."
    (work/'run.yaml').write_text(f"teacher: {work/'teacher'},{work/'teacher'}\ntemperature: 3\ndistill_weight: 0.7\nmodel: {work/'tiny'}\n")
    res = train(work, '--config', str(work/'run.yaml'), '--out', str(work/'from-config'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert '(2 averaged)' in res.stdout and 'loss 0.3 × labels + 0.7 × teacher at T = 3' in res.stdout, res.stdout
    rep = json.loads((work/'from-config'/'metrics.json').read_text())['distillation']
    assert (rep['temperature'], rep['distill_weight'], rep['student_from']) == (3, 0.7, {'model': str(work/'tiny')})

def test_labels_only_baseline(work):
    "`--distill-weight 0`: the cut student learns from the labels alone (no cache), and the report still compares it with the teacher."
    res = train(work, '--teacher', str(work/'teacher'), '--student-layers', '1', '--distill-weight', '0', '--out', str(work/'baseline'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'the student learns from the labels alone' in res.stdout and 'teacher logits of' not in res.stdout
    assert json.loads((work/'baseline'/'metrics.json').read_text())['distillation']['cache_seconds'] is None

@pytest.mark.parametrize('args, parts', [
    (['--teacher', 'nowhere', '--student-layers', '1'], ['teacher nowhere: no such folder']),
    (['--teacher', '{tiny}', '--student-layers', '1'], ['not a model saved by ft-nb (no ft_nb.json']),
    (['--teacher', '{teacher}', '--student-layers', '4'], ['student_layers: 4: the teacher', 'has 3 layers; give at most 3']),
    (['--teacher', '{teacher}', '--model', '{other}'], ['--model', 'and the teacher', 'have different tokenizers']),
    (['--teacher', '{teacher}', '--student-layers', '1', '--model', '{tiny}'], ['give one of them']),
    (['--student-layers', '2'], ['student_layers: 2 cuts a teacher into the student']),
    (['--teacher', '{teacher}', '--student-layers', '1', '--train', '{more}'], ["tag 'B-CITY' is not one of the teacher's labels"]),
])
def test_bad_inputs_one_line(work, args, parts):
    args = [a.format(tiny=work/'tiny', other=work/'other', teacher=work/'teacher', more=work/'more.conll') for a in args]
    one_line_error(train(work, *args, '--out', str(work/'bad'), '--overwrite'), *[p.format(teacher=work/'teacher') for p in parts])

def test_teacher_with_multi_task_refused(work):
    "A multi-task run cannot take a teacher (one line, exit 2), whether `tasks` itself is accepted yet or not."
    (work/'mt.yaml').write_text(f"teacher: {work/'teacher'}\ntasks:\n  - task: ner\n    train: {work/'train.conll'}\n    valid: {work/'valid.conll'}\n")
    one_line_error(ft_nb('train', '--config', str(work/'mt.yaml'), '--out', str(work/'mt')), 'tasks')
