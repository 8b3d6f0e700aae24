import shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def run(*args, cwd=ROOT, timeout=600, **kw):
    "Run a command, capturing text output."
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)

TAGGED = [("The European Commission said on Thursday".split(), ['O', 'B-ORG', 'I-ORG', 'O', 'O', 'O']),
          ("Peter Blackburn flew to Rome".split(), ['B-PER', 'I-PER', 'O', 'O', 'B-LOC']),
          ("German advice to consumers".split(), ['B-MISC', 'O', 'O', 'O'])] # words and IOB2 tags the NER tests train on

def conll(sents)->str:
    "`(words, tags)` pairs as CoNLL columns, a blank line between sentences."
    return '\n\n'.join('\n'.join(f"{w}\t{t}" for w, t in zip(ws, ts)) for ws, ts in sents) + '\n'

def ft_nb(*args, **kw): return run('ft-nb', *args, **kw)

def one_line_error(res, *parts):
    "Exit code 2, one line on stderr naming `parts`, no traceback."
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in res.stderr, res.stderr
    for p in parts: assert p in lines[0], (p, lines[0])

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
