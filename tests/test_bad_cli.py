"""Bad input, as a hostile user types it: every case ends in exit code 2 and one line naming the setting or the file at fault,
no traceback, and nothing written outside `--out`. The table runs in-process through `ft_nb.cli.main` (fast); a few cases run
as the real console script, to prove what a shell sees."""
import json, os, socket, subprocess, sys
from pathlib import Path
import pytest
from ft_nb.cli import main

CONLL = "Peter\tB-PER\nBlackburn\tI-PER\nflew\tO\nto\tO\nRome\tB-LOC\n\nGerman\tB-MISC\nadvice\tO\n\n" * 4
TSV = 'text\tlabel\n' + 'a gripping film\tpos\ndull and long\tneg\n' * 4
FIXTURES = Path(__file__).parent/'fixtures'

CONFIGS = { # name: text of a config file; each has one fault, on the line the case names
    'epochs_three.yaml': '# a run\nepochs: "three"\n', 'epochs_float.yaml': 'bs: 4\nepochs: 1.5\n', 'lr_nan.yaml': 'lr: .nan\n',
    'lr_negative.yaml': 'epochs: 1\nlr: -1e-4\n', 'lr_text.yaml': 'lr: fast\n', 'bs_zero.yaml': 'bs: 0\n', 'out_null.yaml': 'epochs: 1\nout: null\n',
    'crf_nein.yaml': 'crf: "nein"\n', 'crf_one.json': '{"bs": 4,\n "crf": 1}\n', 'max_len_huge.yaml': 'max_len: 100001\n',
    'max_len_zero.yaml': 'max-len: 0\n', 'patience.yaml': 'patience: -1\n', 'warmup.yaml': 'warmup: 1.0\n', 'schedule.yaml': 'schedule: cosin\n',
    'seed_bool.json': '{"seed": true}', 'task.yaml': 'task: 42\n', 'train_list.yaml': 'train: [a.conll, b.conll]\n',
    'typo.yaml': 'bs: 4\nepoch: 3\n', 'twice.yaml': 'max_len: 64\nmax-len: 128\n', 'list.yaml': '- epochs: 3\n',
    'syntax.yaml': 'epochs: 3\nlr: [1e-4\n', 'syntax.json': '{"epochs": 3,\n "lr": }\n', 'nested.yaml': 'lr:\n  peak: 1e-4\n',
    'date.yaml': 'train: 2024-01-01\n', 'layer_decay.yaml': 'layer_decay: 0\n', 'keep.yaml': 'keep_checkpoints: maybe\n',
    'missing_train.yaml': 'epochs: 1\ntrain: nope.conll\n', 'out_file.yaml': 'bs: 4\nout: {w}/train.conll\n',
}

@pytest.fixture(scope='module')
def w(tmp_path_factory):
    "The shared files: a tiny encoder, good and bad data, config files, a socket; and a tiny trained NER model."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('bad')
    tiny_model_dir(d/'tiny')
    (d/'train.conll').write_text(CONLL); (d/'train.tsv').write_text(TSV); (d/'texts.txt').write_text('Rome is big\n')
    (d/'unknown_tag.conll').write_text("Rome\tB-LOC\nrocks\tO\n\nParis\tB-CITY\n")
    (d/'a folder').mkdir(); (d/'no_config').mkdir(); (d/'no_config'/'vocab.txt').write_text('x\n')
    (d/'config_only').mkdir(); (d/'config_only'/'config.json').write_text((d/'tiny'/'config.json').read_text())
    (d/'binary.conll').write_bytes(b'Rome\tB-LOC\n\0\0\0\x01'); (d/'latin1.txt').write_bytes('Zoë est là\n'.encode('latin-1'))
    (d/'cfg').mkdir()
    for name, text in CONFIGS.items(): (d/'cfg'/name).write_text(text.replace('{w}', str(d)))
    (d/'cfg'/'binary.yaml').write_bytes(b'epochs: 3\n\0\0'); (d/'cfg'/'latin1.yaml').write_bytes('epochs: 3\n# Zoë\n'.encode('latin-1'))
    sock = socket.socket(socket.AF_UNIX); sock.bind(str(d/'sock'))
    code = main(['train', '--train', str(d/'train.conll'), '--valid', str(d/'train.conll'), '--model', str(d/'tiny'), '--epochs', '1',
                 '--bs', '4', '--out', str(d/'model')])
    assert code == 0
    yield d
    sock.close()

W = '{w}'
TRAIN = ['train', '--train', f'{W}/train.conll', '--valid', f'{W}/train.conll', '--model', f'{W}/tiny', '--out', 'out']
FROM = lambda cfg: ['train', '--config', f'{W}/cfg/{cfg}', '--train', f'{W}/train.conll', '--valid', f'{W}/train.conll', '--model', f'{W}/tiny']
LR_FIND = ['lr-find', '--train', f'{W}/train.conll', '--valid', f'{W}/train.conll', '--model', f'{W}/tiny', '--out', 'out']
EVAL = ['eval', '--model', f'{W}/model', '--data', f'{W}/train.conll']
PREDICT = ['predict', '--model', f'{W}/model', '--input', f'{W}/texts.txt']
CLS = TRAIN + ['--task', 'cls', '--train', f'{W}/train.tsv', '--valid', f'{W}/train.tsv']

# (case id, argv, what the one line must contain: the setting or the file, and what was expected)
CASES = [
    # settings from flags: refused by argparse with the configuration's own check
    ('epochs 0', TRAIN + ['--epochs', '0'], ["argument --epochs: '0': expected a whole number >= 1"]),
    ('epochs negative', TRAIN + ['--epochs', '-1'], ["argument --epochs: '-1': expected a whole number >= 1"]),
    ('epochs a word', TRAIN + ['--epochs', 'three'], ["argument --epochs: 'three'"]),
    ('epochs a fraction', TRAIN + ['--epochs', '1.5'], ["argument --epochs: '1.5'"]),
    ('epochs no value', TRAIN + ['--epochs'], ['argument --epochs: expected one argument']),
    ('bs 0', TRAIN + ['--bs', '0'], ["argument --bs: '0': expected a whole number >= 1"]),
    ('bs negative', TRAIN + ['--bs', '-4'], ["argument --bs: '-4'"]),
    ('bs a fraction', TRAIN + ['--bs', '2.5'], ["argument --bs: '2.5'"]),
    ('lr nan', TRAIN + ['--lr', 'nan'], ["argument --lr: 'nan': expected a finite number > 0"]),
    ('lr inf', TRAIN + ['--lr', 'inf'], ["argument --lr: 'inf'"]),
    ('lr negative', TRAIN + ['--lr=-1e-4'], ["argument --lr: '-1e-4'"]),
    ('lr negative, spaced', TRAIN + ['--lr', '-1e-4'], ['argument --lr: expected one argument']), # argparse: a flag
    ('lr 0', TRAIN + ['--lr', '0'], ["argument --lr: '0': expected a finite number > 0"]),
    ('lr a word', TRAIN + ['--lr', 'fast'], ["argument --lr: 'fast'"]),
    ('max-len 0', TRAIN + ['--max-len', '0'], ["argument --max-len: '0': expected a whole number in [8, 100000]"]),
    ('max-len 2', TRAIN + ['--max-len', '2'], ["argument --max-len: '2'"]),
    ('max-len huge', TRAIN + ['--max-len', '1000000'], ["argument --max-len: '1000000'"]),
    ('patience -1', TRAIN + ['--patience', '-1'], ["argument --patience: '-1': expected a whole number >= 0"]),
    ('warmup 1', TRAIN + ['--warmup', '1'], ["argument --warmup: '1': expected a finite number in [0, 1)"]),
    ('warmup negative', TRAIN + ['--warmup', '-0.1'], ["argument --warmup: '-0.1'"]),
    ('weight-decay negative', TRAIN + ['--weight-decay', '-0.01'], ["argument --weight-decay: '-0.01': expected a finite number >= 0"]),
    ('layer-decay 0', TRAIN + ['--layer-decay', '0'], ["argument --layer-decay: '0': expected a finite number in (0, 1]"]),
    ('layer-decay above 1', TRAIN + ['--layer-decay', '1.5'], ["argument --layer-decay: '1.5'"]),
    ('max-norm 0', TRAIN + ['--max-norm', '0'], ["argument --max-norm: '0': expected a finite number > 0"]),
    ('max-norm nan', TRAIN + ['--max-norm', 'nan'], ["argument --max-norm: 'nan'"]),
    ('seed negative', TRAIN + ['--seed', '-1'], ["argument --seed: '-1': expected a whole number in [0, 4294967295]"]),
    ('seed too large', TRAIN + ['--seed', '99999999999'], ["argument --seed: '99999999999'"]),
    ('schedule typo', TRAIN + ['--schedule', 'cosin'], ["argument --schedule: 'cosin': expected one of linear, cosine, constant, onecycle"]),
    ('decoder typo', TRAIN + ['--decoder', 'viterby'], ["argument --decoder/--decode: 'viterby'"]),
    ('task typo', TRAIN + ['--task', 'nerr'], ["argument --task: 'nerr': expected one of"]),
    ('log unknown', TRAIN + ['--log', 'wandb'], ["argument --log: 'wandb': expected one of tensorboard"]),
    ('out empty', TRAIN + ['--out', ''], ["argument --out: '': expected a folder"]),
    ('text-col empty', CLS + ['--text-col', ''], ["argument --text-col: '': expected a non-empty text"]),
    ('resume empty', TRAIN + ['--resume', ''], ["argument --resume: '': expected a run folder"]),
    ('crf with a value', TRAIN + ['--crf', 'yes'], ['unrecognized arguments: yes']),
    ('crf=no', TRAIN + ['--crf=no'], ["argument --crf/--no-crf: ignored explicit argument 'no'"]),
    ('unknown flag', TRAIN + ['--epocs', '3'], ['unrecognized arguments: --epocs 3']),
    ('lr-find num-it 0', LR_FIND + ['--num-it', '0'], ["argument --num-it: '0': expected a whole number >= 1"]),
    ('predict bs 0', PREDICT + ['--bs', '0'], ["argument --bs: '0'"]),
    ('predict max-tokens negative', PREDICT + ['--max-tokens', '-1'], ["--max-tokens: -1 is below 0"]),
    ('predict words', PREDICT + ['--words', 'spaces'], ["argument --words: invalid choice: 'spaces'"]),
    ('eval without data', ['eval', '--model', f'{W}/model'], ['the following arguments are required: --data']),
    ('no command', [], ['the following arguments are required: COMMAND']),
    # settings from config files: the file and the line
    ('config epochs "three"', FROM('epochs_three.yaml'), ["epochs_three.yaml:2: epochs: 'three': expected a whole number >= 1"]),
    ('config epochs 1.5', FROM('epochs_float.yaml'), ['epochs_float.yaml:2: epochs: 1.5']),
    ('config lr .nan', FROM('lr_nan.yaml'), ['lr_nan.yaml:1: lr: nan: expected a finite number > 0']),
    ('config lr -1e-4 (a YAML string)', FROM('lr_negative.yaml'), ["lr_negative.yaml:2: lr: '-1e-4': expected a finite number > 0"]),
    ('config lr a word', FROM('lr_text.yaml'), ["lr_text.yaml:1: lr: 'fast'"]),
    ('config bs 0', FROM('bs_zero.yaml'), ['bs_zero.yaml:1: bs: 0: expected a whole number >= 1']),
    ('config out null', FROM('out_null.yaml'), ['out_null.yaml:2: out: None: expected a folder']),
    ('config crf "nein"', FROM('crf_nein.yaml'), ["crf_nein.yaml:1: crf: 'nein': expected true or false"]),
    ('config crf 1 (JSON)', FROM('crf_one.json'), ['crf_one.json:2: crf: 1: expected true or false']),
    ('config max_len huge', FROM('max_len_huge.yaml'), ['max_len_huge.yaml:1: max_len: 100001: expected a whole number in [8, 100000]']),
    ('config max-len 0', FROM('max_len_zero.yaml'), ['max_len_zero.yaml:1: max_len: 0']),
    ('config patience -1', FROM('patience.yaml'), ['patience.yaml:1: patience: -1']),
    ('config warmup 1.0', FROM('warmup.yaml'), ['warmup.yaml:1: warmup: 1.0: expected a finite number in [0, 1)']),
    ('config layer_decay 0', FROM('layer_decay.yaml'), ['layer_decay.yaml:1: layer_decay: 0']),
    ('config schedule typo', FROM('schedule.yaml'), ["schedule.yaml:1: schedule: 'cosin': expected one of linear"]),
    ('config seed true', FROM('seed_bool.json'), ['seed_bool.json:1: seed: True: expected a whole number']),
    ('config task a number', FROM('task.yaml'), ['task.yaml:1: task: 42: expected one of']),
    ('config keep_checkpoints maybe', FROM('keep.yaml'), ["keep.yaml:1: keep_checkpoints: 'maybe': expected true or false"]),
    ('config train a list', FROM('train_list.yaml'), ["train_list.yaml:1: train: ['a.conll', 'b.conll']: expected a file"]),
    ('config train a date', FROM('date.yaml'), ['date.yaml:1: train: datetime.date(2024, 1, 1): expected a file']),
    ('config lr a mapping', FROM('nested.yaml'), ["nested.yaml:1: lr: {'peak': '1e-4'}"]),
    ('config unknown setting', FROM('typo.yaml'), ["typo.yaml:2: unknown setting 'epoch' (did you mean epochs?)"]),
    ('config setting twice', FROM('twice.yaml'), ['twice.yaml:2: max_len is set twice (also on line 1)']),
    ('config a list', FROM('list.yaml'), ['list.yaml:1: expected a mapping of settings']),
    ('config YAML syntax', FROM('syntax.yaml'), ["syntax.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"]),
    ('config JSON syntax', FROM('syntax.json'), ['syntax.json:2: not valid JSON: Expecting value']),
    ('config binary', FROM('binary.yaml'), ['binary.yaml:2: NUL byte']),
    ('config latin-1', FROM('latin1.yaml'), ['latin1.yaml:2: byte 0xeb', 'is not UTF-8']),
    ('config a folder', FROM('../a folder'), ['a folder: a folder: expected a readable file']),
    ('config missing', FROM('nope.yaml'), ['nope.yaml: no such file']),
    ('config names a missing file', ['train', '--config', f'{W}/cfg/missing_train.yaml', '--valid', f'{W}/train.conll'],
     ['missing_train.yaml:2: nope.conll: no such file']),
    ('config out is a file', FROM('out_file.yaml'), ['out_file.yaml:2: ', 'train.conll: a file: expected a folder to write to']),
    # paths given to train and lr-find
    ('train missing', TRAIN + ['--train', f'{W}/nope.conll'], ['--train: ', 'nope.conll: no such file']),
    ('train a folder', TRAIN + ['--train', f'{W}/a folder'], ['--train: ', 'a folder: a folder: expected a readable file']),
    ('train a socket', TRAIN + ['--train', f'{W}/sock'], ['--train: ', 'sock: a socket']),
    ('train through a file', TRAIN + ['--train', f'{W}/train.conll/x'], ['--train: ', 'a part of the path is a file, not a folder']),
    ('valid /dev/null/x', TRAIN + ['--valid', '/dev/null/x'], ['--valid: /dev/null/x: a part of the path is a file']),
    ('valid a folder', TRAIN + ['--valid', f'{W}/a folder'], ['--valid: ', 'a folder: a folder']),
    ('test missing', TRAIN + ['--test', f'{W}/nope.conll'], ['--test: ', 'nope.conll: no such file']),
    ('stdin twice', TRAIN + ['--train', '-', '--valid', '-'], ["--train and --valid: both '-': standard input can be read once"]),
    ('out an existing file', TRAIN + ['--out', f'{W}/train.conll'], ['--out: ', 'train.conll: a file: expected a folder to write to']),
    ('out /dev/null/x', TRAIN + ['--out', '/dev/null/x'], ['--out: /dev/null/x: a part of the path is a file']),
    ('out in /proc', TRAIN + ['--out', '/proc/ft-nb-model'], ['--out: /proc/ft-nb-model: cannot write in /proc']),
    ('out a device', TRAIN + ['--out', '/dev/null'], ['--out: /dev/null: a character device: expected a folder']),
    ('out a socket', TRAIN + ['--out', f'{W}/sock'], ['--out: ', 'sock: a socket']),
    ('out under a file', TRAIN + ['--out', f'{W}/train.conll/m'], ['--out: ', 'a part of the path is a file']),
    ('resume missing', TRAIN + ['--resume', f'{W}/no-run'], ['--resume: ', 'no-run: no such folder: expected a readable folder']),
    ('resume a file', TRAIN + ['--resume', f'{W}/train.conll'], ['--resume: ', 'train.conll: a file: expected a readable folder']),
    ('resume a finished run, as many epochs', TRAIN + ['--bs', '4', '--resume', f'{W}/model', '--epochs', '1'],
     ['model/checkpoint/ckpt-', '/state.json: nothing to resume: the run finished its 1 epoch, all that --epochs 1 asks', 'to continue it, resume with --epochs 2 or more']),
    ('bare resume, no such out', TRAIN + ['--resume'], ['--resume: out: no such folder']),
    ('model a file', TRAIN + ['--model', f'{W}/train.conll'], ['--model: ', 'train.conll: a file: expected a readable folder']),
    ('model a mistyped folder', TRAIN + ['--model', './models/nope'], ['./models/nope: no such model folder']),
    ('model without config.json', TRAIN + ['--model', f'{W}/no_config'], ['no_config: not a Hugging Face model folder (no config.json)']),
    ('lr-find train a folder', LR_FIND + ['--train', f'{W}/a folder'], ['--train: ', 'a folder: a folder']),
    ('lr-find out a file', LR_FIND + ['--out', f'{W}/train.conll'], ['--out: ', 'train.conll: a file']),
    ('lr-find out in /proc', LR_FIND + ['--out', '/proc/lr'], ['--out: /proc/lr: cannot write in /proc']),
    # paths given to eval and predict
    ('eval model missing', EVAL + ['--model', f'{W}/no-model'], ['--model: ', 'no-model: no such folder']),
    ('eval model a file', EVAL + ['--model', f'{W}/train.conll'], ['--model: ', 'train.conll: a file: expected a readable folder']),
    ('eval data missing', EVAL + ['--data', f'{W}/nope.conll'], ['--data: ', 'nope.conll: no such file']),
    ('eval data a folder', EVAL + ['--data', f'{W}/a folder'], ['--data: ', 'a folder: a folder']),
    ('eval data /dev/null/x', EVAL + ['--data', '/dev/null/x'], ['--data: /dev/null/x: a part of the path is a file']),
    ('eval predictions a folder', EVAL + ['--predictions', f'{W}/a folder'], ['--predictions: ', 'a folder: a folder: expected a file to write']),
    ('eval predictions /dev/null/x', EVAL + ['--predictions', '/dev/null/x'], ['--predictions: /dev/null/x: a part of the path is a file']),
    ('eval predictions in /proc', EVAL + ['--predictions', '/proc/p.conll'], ['--predictions: /proc/p.conll: cannot write in /proc']),
    ('predict model missing', PREDICT + ['--model', f'{W}/no-model'], ['--model: ', 'no-model: no such folder']),
    ('predict input missing', PREDICT + ['--input', f'{W}/nope.txt'], ['--input: ', 'nope.txt: no such file']),
    ('predict input a folder', PREDICT + ['--input', f'{W}/a folder'], ['--input: ', 'a folder: a folder']),
    ('predict input a socket', PREDICT + ['--input', f'{W}/sock'], ['--input: ', 'sock: a socket']),
    # what is inside the files
    ('conll wrong columns', TRAIN + ['--train', str(FIXTURES/'conll'/'wrong_columns.txt')], ['wrong_columns.txt:5:', 'expected 4 columns']),
    ('conll binary', TRAIN + ['--train', f'{W}/binary.conll'], ['binary.conll:2: NUL byte']),
    ('conll latin-1', TRAIN + ['--train', str(FIXTURES/'conll'/'latin1.txt')], ['latin1.txt:', 'is not UTF-8']),
    ('conll truncated gzip', TRAIN + ['--train', str(FIXTURES/'conll'/'truncated.gz')], ['truncated.gz', 'corrupt gzip data']),
    ('conll invalid tag', TRAIN + ['--train', str(FIXTURES/'conll'/'invalid_tag.txt')], ['invalid_tag.txt:']),
    ('train without valid', TRAIN[:3] + TRAIN[5:], ['give both --train and --valid']),
    ('classify unknown column', CLS + ['--text-col', 'review'], ['train.tsv', 'review']),
    ('classify unknown format', CLS + ['--train', f'{W}/texts.txt'], ["texts.txt: unknown format '.txt'"]),
    ('classify latin-1 csv', CLS + ['--train', str(FIXTURES/'text'/'latin1.csv')], ['latin1.csv:', 'is not UTF-8']),
    ('classify bad JSON line', CLS + ['--train', str(FIXTURES/'text'/'bad_line.jsonl')], ['bad_line.jsonl:']),
    ('eval unknown label', EVAL + ['--data', f'{W}/unknown_tag.conll'], ["unknown_tag.conll:4:", "'B-CITY'"]),
    ('eval binary data', EVAL + ['--data', f'{W}/binary.conll'], ['binary.conll:2: NUL byte']),
    ('predict binary input', PREDICT + ['--input', f'{W}/binary.conll'], ['binary.conll:2: NUL byte']),
    ('predict latin-1 input', PREDICT + ['--input', f'{W}/latin1.txt'], ['latin1.txt:1: byte 0xeb', 'is not UTF-8']),
    # model folders
    ('eval model config.json only', EVAL + ['--model', f'{W}/config_only'], ['config_only', 'no model.safetensors']),
    ('predict model config.json only', PREDICT + ['--model', f'{W}/config_only'], ['config_only', 'no model.safetensors']),
    ('eval model a plain folder', EVAL + ['--model', f'{W}/a folder'], ['a folder', 'no config.json']),
]

def tree(d:Path)->dict:
    "Every file under `d`, with its size and modification time."
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob('*')) if not p.is_socket()}

def out_of(argv:list[str])->str|None:
    "The `--out` of a train or lr-find command line (the last one given wins), else `None`."
    outs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == '--out']
    return (outs or ['ft-nb-model'])[-1] if argv[:1] in (['train'], ['lr-find']) else None

def nothing_outside_out(cwd:Path, argv:list[str]):
    "Nothing in the working folder `cwd` but the run's `--out` (and nothing at all for eval and predict)."
    made, keep = list(cwd.iterdir()), out_of(argv)
    assert all(keep is not None and p == cwd/keep for p in made), made

def test_the_table_is_large_and_its_ids_unique():
    assert len(CASES) >= 80 and len({c[0] for c in CASES}) == len(CASES)

@pytest.mark.parametrize('argv,parts', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(argv, parts, w, tmp_path, monkeypatch, capfd):
    argv = [a.replace(W, str(w)) for a in argv]
    monkeypatch.chdir(tmp_path); monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    before = tree(w)
    code = main(argv)
    out, err = capfd.readouterr()
    assert code == 2, (code, err[-3000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in err, err[-3000:]
    assert lines[0].startswith(f"ft-nb {argv[0] if argv else ''}".rstrip() + ': error: '), lines[0]
    for p in parts: assert p in lines[0], (p, lines[0])
    assert tree(w) == before # the inputs are untouched
    nothing_outside_out(tmp_path, argv)

# A handful as the real console script: what a shell and a script see
SHELL_CASES = ['lr nan', 'config epochs "three"', 'out an existing file', 'eval data a folder', 'predict input missing', 'no command']

@pytest.mark.parametrize('case', SHELL_CASES)
def test_console_script_exit_2_one_line(case, w, tmp_path):
    argv = [a.replace(W, str(w)) for a in next(c[1] for c in CASES if c[0] == case)]
    res = subprocess.run(['ft-nb', *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=os.environ | {'HF_HUB_OFFLINE': '1'})
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and 'Traceback' not in res.stderr, res.stderr[-3000:]
    for p in next(c[2] for c in CASES if c[0] == case): assert p in res.stderr
    nothing_outside_out(tmp_path, argv)

def test_a_bug_is_one_line_and_a_crash_report(tmp_path):
    "An unexpected exception: exit 1, one line saying where the traceback went (in the temp folder), not the traceback."
    code = "import sys, ft_nb.cli as c; c._train = lambda args: {}['boom']; sys.exit(c.main(['train']))"
    res = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=os.environ | {'TMPDIR': str(tmp_path)})
    assert res.returncode == 1 and 'Traceback' not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stderr.startswith("ft-nb train: error: internal error (KeyError: 'boom'): a bug in ft-nb; the full traceback is in ")
    report, = tmp_path.glob('ft-nb-crash-*.txt')
    assert str(report) in res.stderr and "KeyError: 'boom'" in report.read_text() and 'Traceback' in report.read_text()
    debug = subprocess.run([sys.executable, '-c', code.replace("['train']", "['--debug', 'train']")], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and 'Traceback' in debug.stderr and "KeyError: 'boom'" in debug.stderr # developers see it

def test_a_full_disk_is_one_line(w, tmp_path, monkeypatch, capfd):
    "The system's refusals the user can act on (a full disk, a read-only file system) name the file, exit 2."
    import errno, ft_nb.train
    def full(cfg): raise OSError(errno.ENOSPC, 'No space left on device', 'out/model.safetensors')
    monkeypatch.setattr(ft_nb.train, 'fine_tune', full); monkeypatch.chdir(tmp_path)
    assert main([a.replace(W, str(w)) for a in TRAIN]) == 2
    assert capfd.readouterr().err == 'ft-nb train: error: out/model.safetensors: No space left on device\n'
