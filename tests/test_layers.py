"The import graph of `ft_nb`: no cycles, one evaluation path below training and inference, lean inference (issue 13)."
import ast, subprocess, sys
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parent.parent/'ft_nb'

def _module(path:Path)->str: return '.'.join(('ft_nb',) + path.relative_to(PKG).with_suffix('').parts).removesuffix('.__init__')

def _imports(path:Path)->set[str]:
    "The ft_nb modules that `path` imports at module level (imports inside functions are lazy, and not counted)."
    mod, found = _module(path), set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = mod.split('.')[:-node.level] if not path.name == '__init__.py' else mod.split('.')[:len(mod.split('.')) - node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            if base.startswith('ft_nb'): found.add(base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith('ft_nb')}
    return {m for m in found if m != 'ft_nb' and m != mod}

GRAPH = {_module(p): _imports(p) for p in PKG.rglob('*.py') if p.name != '_modidx.py'}

def _reach(mod:str)->set[str]:
    seen, todo = set(), [mod]
    while todo:
        for m in GRAPH.get(todo.pop(), ()):
            if m not in seen: seen.add(m); todo.append(m)
    return seen

def test_no_import_cycles():
    cycles = [m for m in GRAPH if m in _reach(m)]
    assert not cycles, f'modules that import themselves through others: {cycles}'

def test_evaluation_below_train_and_inference():
    assert 'ft_nb.evaluation' in _reach('ft_nb.train') and 'ft_nb.evaluation' in _reach('ft_nb.inference')
    assert not {'ft_nb.train', 'ft_nb.inference', 'ft_nb.learner'} & _reach('ft_nb.evaluation')

@pytest.mark.parametrize('mod', ['ft_nb.inference', 'ft_nb.evaluation', 'ft_nb.tasks.ner', 'ft_nb.tasks.classify'])
def test_inference_side_imports_no_training_code(mod):
    training = {'ft_nb.learner', 'ft_nb.train', 'ft_nb.widgets', 'ft_nb.callbacks.schedule', 'ft_nb.callbacks.checkpoint'}
    assert not training & _reach(mod), f'{mod} reaches {training & _reach(mod)}'

def test_predictor_import_is_lean():
    heavy = ['ft_nb.learner', 'ft_nb.train', 'matplotlib', 'fastprogress', 'pandas', 'sklearn', 'seqeval', 'ipywidgets']
    code = f"import os, sys; env = dict(os.environ); from ft_nb.inference import Predictor; " \
           f"print([m for m in {heavy!r} if m in sys.modules]); print(env == dict(os.environ))"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split('\n')
    assert out[0] == '[]', f'importing the Predictor loads {out[0]}'
    assert out[1] == 'True', 'importing the Predictor changed the environment'

def test_cli_help_imports_no_torch():
    code = "import sys; import ft_nb.cli; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip() == 'False'
