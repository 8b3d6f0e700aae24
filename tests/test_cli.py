"The `ft-nb` console script, driven as a user would drive it: in a subprocess, on a tiny model and hand-written files."
import json, os
from pathlib import Path
import pytest
from conftest import ROOT, run, TAGGED, ft_nb, one_line_error

FIXTURES = ROOT/'tests'/'fixtures'



@pytest.fixture(scope='session')
def work(tmp_path_factory):
    "A tiny model folder and small NER and classification files."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('cli')
    tiny_model_dir(d/'tiny')
    conll = '\n\n'.join('\n'.join(f"{w}\t{t}" for w, t in zip(ws, ts)) for ws, ts in TAGGED * 5) + '\n'
    for split in ('train', 'valid', 'test'): (d/f'{split}.conll').write_text(conll)
    (d/'unknown_tag.conll').write_text("Rome\tB-LOC\nrocks\tO\n\nParis\tB-CITY\n")
    rows = ['text\tlabel'] + [f"{t}\t{l}" for t, l in [('a gripping film', 'pos'), ('dull and long', 'neg'), ('great fun', 'pos'), ('a bore', 'neg')] * 5]
    for split in ('train', 'valid'): (d/f'{split}.tsv').write_text('\n'.join(rows) + '\n')
    return d

@pytest.fixture(scope='session')
def ner_model(work):
    out = work/'ner-model'
    res = ft_nb('train', '--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'), '--test', str(work/'test.conll'),
                '--model', str(work/'tiny'), '--epochs', '2', '--bs', '4', '--lr', '1e-3', '--out', str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res

def test_train_saves_model_metrics_and_plots(ner_model):
    out, res = ner_model
    for f in ('config.json', 'model.safetensors', 'tokenizer.json', 'ft_nb.json', 'metrics.json', 'progress.png', 'confusion.png', 'f1_by_type.png'):
        assert (out/f).exists(), f
    metrics = json.loads((out/'metrics.json').read_text())
    assert len(metrics['history']) == 2 and 'f1' in metrics['test']
    assert 'strict F1' in res.stdout
    assert json.loads((out/'ft_nb.json').read_text())['meta']['config']['epochs'] == 2 # the resolved config is saved

def test_eval_reproduces_the_training_score(ner_model, work):
    out, _ = ner_model
    res = ft_nb('eval', '--model', str(out), '--data', str(work/'test.conll'), '--json')
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)['f1'] == json.loads((out/'metrics.json').read_text())['test']['f1']
    text = ft_nb('eval', '--model', str(out), '--data', str(work/'test.conll'))
    assert text.returncode == 0 and 'strict F1' in text.stdout

def test_eval_predictions_file_is_what_was_scored(ner_model, work, tmp_path):
    "`--predictions` writes `word gold predicted` columns; scoring them again gives eval's strict F1 (issue 15)."
    out, _ = ner_model
    res = ft_nb('eval', '--model', str(out), '--data', str(work/'test.conll'), '--json', '--predictions', str(tmp_path/'p.conll'))
    assert res.returncode == 0, res.stderr
    from ft_nb.data.conll import read_conll
    from ft_nb.metrics import EntityScorer
    gold = read_conll(work/'test.conll')[0]
    cols = [[l.split() for l in b.splitlines()] for b in (tmp_path/'p.conll').read_text().split('\n\n')]
    assert [[w for w, *_ in s] for s in cols] == [s.words for s in gold] and [[g for _, g, _ in s] for s in cols] == [s.tags for s in gold]
    again = EntityScorer().update([s.tags for s in gold], [[p for *_, p in s] for s in cols]).summary()['f1']
    assert again == json.loads(res.stdout)['f1']

def test_predict_one_json_line_per_input_line(ner_model, work):
    out, _ = ner_model
    lines = [' '.join(ws) for ws, _ in TAGGED] + ['', '   ', 'Émile Zola à Paris 🇫🇷 東京'] 
    lines = (lines * 200)[:1000]
    (work/'texts.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    res = ft_nb('predict', '--model', str(out), '--input', str(work/'texts.txt'))
    assert res.returncode == 0, res.stderr
    outs = [json.loads(l) for l in res.stdout.splitlines()]
    assert [o['text'] for o in outs] == lines
    for o in outs:
        for e in o['entities']: assert o['text'][e['start']:e['end']] == e['text'] and 0 <= e['score'] <= 1
    piped = run('ft-nb', 'predict', '--model', str(out), input='Rome is big\n')
    assert piped.returncode == 0 and json.loads(piped.stdout)['text'] == 'Rome is big'

def test_predict_options_words_int8_and_plain_linear(ner_model, work):
    "--words tokenizer, --int8 and --no-fast each give a valid line; oneDNN's linear layers change no tag."
    out, _ = ner_model
    text = "Peter O'Brien flew to Chester-le-Street"
    outs = {}
    for flags in ([], ['--words', 'tokenizer'], ['--int8'], ['--no-fast']):
        res = ft_nb('predict', '--model', str(out), *flags, input=text + '\n')
        assert res.returncode == 0, (flags, res.stderr[-2000:])
        o = json.loads(res.stdout); outs[' '.join(flags)] = o['entities']
        for e in o['entities']: assert text[e['start']:e['end']] == e['text']
    spans = lambda ents: [(e['start'], e['end'], e['label']) for e in ents]
    assert spans(outs['--no-fast']) == spans(outs['']) # oneDNN or not: the same tags
    bad = ft_nb('predict', '--model', str(out), '--words', 'spaces', input='x\n')
    assert bad.returncode == 2 and "invalid choice: 'spaces'" in bad.stderr

def test_classification_train_eval_predict(work):
    out = work/'cls-model'
    res = ft_nb('train', '--task', 'cls', '--train', str(work/'train.tsv'), '--valid', str(work/'valid.tsv'), '--model', str(work/'tiny'),
                '--epochs', '1', '--bs', '4', '--out', str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    ev = ft_nb('eval', '--model', str(out), '--data', str(work/'valid.tsv'), '--json')
    assert ev.returncode == 0 and json.loads(ev.stdout)['accuracy'] == json.loads((out/'metrics.json').read_text())['valid']['accuracy']
    pr = run('ft-nb', 'predict', '--model', str(out), input='great fun\n')
    assert pr.returncode == 0 and json.loads(pr.stdout)['label'] in ('pos', 'neg')

def test_multilabel_train_eval_predict(work):
    "A task added by one module is a choice of `--task`, trained, saved and scored like the others."
    rows = [('the team won the match', ['sport']), ('parliament passed the budget', ['politics']),
            ('the minister opened the stadium', ['politics', 'sport']), ('rain is expected', [])] * 4
    (work/'ml.jsonl').write_text(''.join(json.dumps({'text': t, 'label': l}) + '\n' for t, l in rows))
    out = work/'ml-model'
    res = ft_nb('train', '--task', 'multilabel', '--train', str(work/'ml.jsonl'), '--valid', str(work/'ml.jsonl'), '--model', str(work/'tiny'),
                '--epochs', '1', '--bs', '4', '--out', str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'micro-F1' in res.stdout and json.loads((out/'ft_nb.json').read_text())['meta']['task'] == 'multilabel'
    ev = ft_nb('eval', '--model', str(out), '--data', str(work/'ml.jsonl'), '--json')
    assert ev.returncode == 0 and json.loads(ev.stdout)['micro_f1'] == json.loads((out/'metrics.json').read_text())['valid']['micro_f1']
    pr = run('ft-nb', 'predict', '--model', str(out), input='the team won\nrain\n')
    assert pr.returncode == 0, pr.stderr[-2000:]
    outs = [json.loads(l) for l in pr.stdout.splitlines()]
    assert [o['text'] for o in outs] == ['the team won', 'rain'] and all(set(o['labels']) <= {'sport', 'politics'} for o in outs)

def test_help_and_version():
    res = ft_nb('--help')
    assert res.returncode == 0 and 'examples:' in res.stdout and 'ft-nb train --train' in res.stdout
    train_help = ft_nb('train', '--help').stdout
    assert all(f in train_help for f in ('--max-len MAX_LEN', '--crf', '--config FILE', '--resume [OUT]', '--crf, --no-crf', '--no-keep-checkpoints', '--overwrite, --no-overwrite'))
    assert '--task {classify,multilabel,ner,cls}' in train_help # the task modules found
    assert 'epochs without a better validation score' in ' '.join(train_help.split()) # help from TrainConfig's docments
    assert ft_nb('--version').stdout.startswith('ft-nb ')

def test_help_explains_every_flag_with_its_choices():
    "Every flag of train and lr-find has a help text; schedules, decoders and loggers list their choices."
    for cmd in ('train', 'lr-find'):
        text = ' '.join(ft_nb(cmd, '--help').stdout.split())
        for f in ('--warmup', '--layer-decay', '--max-norm', '--keep-checkpoints', '--decoder', '--schedule', '--log'): assert f in text, (cmd, f)
        assert '--schedule {linear,cosine,constant,onecycle}' in text and '--log {tensorboard}' in text and '--decoder {viterbi,repair,drop}' in text
        assert 'global norm exceeds this' in text and 'layer-wise learning-rate decay' in text
    assert '--num-it NUM_IT' in ft_nb('lr-find', '--help').stdout and '--print-config' in ft_nb('train', '--help').stdout

def test_print_config_round_trip(tmp_path):
    "`train --print-config` writes a commented YAML file that `--config` reads back to the same settings."
    res = ft_nb('train', '--epochs', '5', '--schedule', 'cosine', '--print-config')
    assert res.returncode == 0 and '# passes over the training data\nepochs: 5\n' in res.stdout, res.stderr
    (tmp_path/'run.yaml').write_text(res.stdout)
    again = ft_nb('train', '--config', str(tmp_path/'run.yaml'), '--print-config')
    assert again.returncode == 0 and again.stdout == res.stdout
    assert ft_nb('train', '--config', str(tmp_path/'run.yaml'), '--lr', '1e-4', '--print-config').stdout != res.stdout # flags win

def test_lr_find_saves_plot_and_suggests(work):
    out = work/'lr-find'
    res = ft_nb('lr-find', '--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'), '--model', str(work/'tiny'),
                '--bs', '4', '--num-it', '10', '--out', str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out/'lr_find.png').stat().st_size > 1000 and 'suggested learning rate: ' in res.stdout
    assert float(res.stdout.split('suggested learning rate: ')[1].split()[0]) > 0
    assert not (out/'model.safetensors').exists() # nothing trained, nothing saved

def test_unreachable_hub_and_mistyped_folder_fail_fast(work, tmp_path):
    "No network: a Hub id fails in seconds, naming the local alternatives; a path-like name is a missing folder."
    env = os.environ | {'HF_ENDPOINT': 'https://127.0.0.1:9', 'HTTPS_PROXY': '', 'https_proxy': '', 'HF_HUB_OFFLINE': '0'} # a closed local port
    res = ft_nb('train', '--model', 'no-such-org/no-such-model', '--out', str(tmp_path/'m'), env=env, timeout=60)
    one_line_error(res, 'no-such-org/no-such-model', 'cannot be reached', 'bundled MiniLM', 'HF_HUB_OFFLINE=1')
    (tmp_path/'models').mkdir()
    one_line_error(ft_nb('lr-find', '--model', 'models/nope', cwd=tmp_path, env=env, timeout=60), 'models/nope: no such model folder')

def test_usage_errors_exit_2():
    res = ft_nb('trian')
    assert res.returncode == 2 and "invalid choice: 'trian'" in res.stderr and 'Traceback' not in res.stderr
    res = ft_nb('train', '--epochs', 'many')
    assert res.returncode == 2 and res.stderr == "ft-nb train: error: argument --epochs: 'many': expected a whole number >= 1 (see ft-nb train --help)\n"

def test_missing_training_file(work):
    one_line_error(ft_nb('train', '--train', str(work/'nope.conll'), '--valid', str(work/'valid.conll')), 'nope.conll')

def test_malformed_conll(work):
    one_line_error(ft_nb('train', '--train', str(FIXTURES/'conll'/'wrong_columns.txt'), '--valid', str(work/'valid.conll'), '--model', str(work/'tiny')),
                   'wrong_columns.txt:5:', 'expected 4 columns')

def test_unknown_column(work):
    one_line_error(ft_nb('train', '--task', 'cls', '--train', str(work/'train.tsv'), '--valid', str(work/'valid.tsv'), '--text-col', 'review', '--model', str(work/'tiny')),
                   'train.tsv', 'review')

def test_label_not_in_model(ner_model, work):
    out, _ = ner_model
    one_line_error(ft_nb('eval', '--model', str(out), '--data', str(work/'unknown_tag.conll')), 'unknown_tag.conll:4:', "'B-CITY'")
    res = ft_nb('eval', '--model', str(out), '--data', str(work/'unknown_tag.conll'), '--ignore-unknown', '--json')
    assert res.returncode == 0 and json.loads(res.stdout)['unknown_labels'] == {'B-CITY': 1}

def test_bad_config_and_missing_inputs(work, ner_model):
    (work/'typo.yaml').write_text('epoch: 3\n')
    one_line_error(ft_nb('train', '--config', str(work/'typo.yaml')), 'typo.yaml', "unknown setting 'epoch'")
    one_line_error(ft_nb('predict', '--model', str(ner_model[0]), '--input', str(work/'nope.txt')), 'nope.txt')
    one_line_error(ft_nb('eval', '--model', str(work/'no-model'), '--data', str(work/'test.conll')), 'no-model')

def test_ten_thousand_words_tagged_completely(ner_model):
    from ft_nb.inference import Predictor, split_words
    pred = Predictor.from_folder(ner_model[0])
    text = ' '.join(['Peter Blackburn flew to Rome .'] * 1700)
    words = [w for w, *_ in split_words(text)]
    assert len(words) == 10200
    assert len(pred.tag_words([words])[0]) == len(words)

@pytest.mark.slow
def test_default_train_then_eval_reproduces(tmp_path):
    "README's first command: the bundled MiniLM on the bundled WNUT-17 (about 3 minutes on 2 cores)."
    res = ft_nb('train', '--out', str(tmp_path/'m'), timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    f1 = json.loads((tmp_path/'m'/'metrics.json').read_text())['test']['f1']
    assert f1 > 0.3 and (tmp_path/'m'/'checkpoint').exists() # kept: `--resume OUT --epochs N` continues it
    from ft_nb.train import bundled_ner_data
    ev = ft_nb('eval', '--model', str(tmp_path/'m'), '--data', str(bundled_ner_data()['test']), '--json')
    assert json.loads(ev.stdout)['f1'] == f1

def test_resume_from_checkpoint(work):
    out = work/'resumed'
    common = ['--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'), '--model', str(work/'tiny'), '--bs', '4', '--lr', '1e-3', '--out', str(out)]
    first = ft_nb('train', *common, '--epochs', '1', '--keep-checkpoints')
    assert first.returncode == 0 and (out/'checkpoint'/'latest').exists(), first.stderr[-2000:]
    second = ft_nb('train', *common, '--epochs', '2', '--resume') # alone: resume this run's --out
    assert second.returncode == 0, second.stderr[-2000:]
    assert [r['epoch'] for r in json.loads((out/'metrics.json').read_text())['history']] == [0, 1]

def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(work):
    import signal, subprocess, time
    out = work/'interrupted'
    args = ['ft-nb', 'train', '--train', str(work/'train.conll'), '--valid', str(work/'valid.conll'), '--model', str(work/'tiny'),
            '--bs', '2', '--patience', '1000', '--epochs', '200', '--out', str(out)] # no early stop before the signal
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {'PYTHONUNBUFFERED': '1'})
    deadline = time.time() + 120
    while time.time() < deadline and not any(out.glob('checkpoint/ckpt-*')): time.sleep(0.2) # the first epoch has ended
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert f"ft-nb train --resume {out} <the same settings>" in stderr and 'Traceback' not in stderr
    state = json.loads((out/'checkpoint'/(out/'checkpoint'/'latest').read_text()/'state.json').read_text())
    assert state['epoch'] >= 1 and not (out/'metrics.json').exists()
    resumed = ft_nb('train', *args[2:12], '--epochs', str(state['epoch'] + 1), '--resume', str(out), '--out', str(out)) # as the hint says
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(json.loads((out/'metrics.json').read_text())['history']) == state['epoch'] + 1
