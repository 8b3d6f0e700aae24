"The `ft-nb` console script, driven as a user would: in a subprocess."
import re
from conftest import run

def test_train_runs_the_self_check():
    res = run('ft-nb', 'train')
    assert res.returncode == 0, res.stderr
    assert 'passed' in res.stdout
    diffs = [float(d) for d in re.findall(r'autograd\| = ([0-9.e+-]+)', res.stdout)]
    assert len(diffs) == 3 and max(diffs) < 1e-10

def test_version():
    res = run('ft-nb', '--version')
    assert res.returncode == 0 and res.stdout.startswith('ft-nb ')

def test_help_shows_example():
    res = run('ft-nb', '--help')
    assert res.returncode == 0 and 'example: ft-nb train' in res.stdout

def test_unknown_command_is_exit_2_without_traceback():
    res = run('ft-nb', 'trian')
    assert res.returncode == 2
    assert "invalid choice: 'trian'" in res.stderr and 'Traceback' not in res.stderr

def test_bad_option_value_is_exit_2():
    res = run('ft-nb', 'train', '--epochs', 'many')
    assert res.returncode == 2 and "invalid int value: 'many'" in res.stderr and 'Traceback' not in res.stderr
