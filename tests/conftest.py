import shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def run(*args, cwd=ROOT, timeout=600, **kw):
    "Run a command, capturing text output."
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)

@pytest.fixture
def repo_copy(tmp_path):
    "A throw-away git repository holding the committed-or-not files of this one."
    files = run('git', 'ls-files', '-co', '--exclude-standard').stdout.split()
    for f in files:
        if (ROOT/f).is_file():
            (tmp_path/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT/f, tmp_path/f)
    for cmd in (['git', 'init', '-q'], ['git', 'add', '-A'], ['git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base']):
        assert run(*cmd, cwd=tmp_path).returncode == 0
    return tmp_path
