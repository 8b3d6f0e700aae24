"CI's guard: notebooks committed clean, and ft_nb/ and README.md exactly what the notebooks generate."
import json
from pathlib import Path
from conftest import ROOT, run

def check_sync(repo): return run('bash', 'tools/check_sync.sh', str(repo), cwd=repo)

def edit_first_export_cell(nb_path:Path, new_line:str):
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb['cells'] if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| export') and 'def ' in ''.join(c['source']))
    cell['source'].append('\n' + new_line)
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def test_the_repository_is_in_sync(repo_copy):
    res = check_sync(repo_copy)
    assert res.returncode == 0, res.stdout + res.stderr

def test_notebook_edited_without_export_fails(repo_copy):
    edit_first_export_cell(repo_copy/'nbs'/'01_math.ipynb', 'NEW_CONSTANT = 1')
    run('git', 'commit', '-qam', 'edit notebook only', '-c', 'user.name=t', cwd=repo_copy)
    res = check_sync(repo_copy)
    assert res.returncode == 1 and 'out of sync' in res.stdout
    assert 'ft_nb/math.py' in res.stdout

def test_notebook_with_outputs_metadata_fails(repo_copy):
    nb_path = repo_copy/'nbs'/'00_core.ipynb'
    nb = json.loads(nb_path.read_text())
    next(c for c in nb['cells'] if c['cell_type'] == 'code')['execution_count'] = 7
    nb_path.write_text(json.dumps(nb, indent=1) + '\n')
    res = check_sync(repo_copy)
    assert res.returncode == 1 and 'nbs/00_core.ipynb' in res.stdout

def test_stale_readme_fails(repo_copy):
    (repo_copy/'README.md').write_text((repo_copy/'README.md').read_text() + '\nhand edit\n')
    res = check_sync(repo_copy)
    assert res.returncode == 1 and 'README.md' in res.stdout

def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text()
    test_cmd = 'nbdev-test --n-workers 2 && python -m pytest -q tests'
    assert test_cmd in readme and test_cmd in ci
    assert readme.count('```sh\npip install torch==2.13.0 && pip install -e ') == 2 # exactly the two set-up commands
