#!/usr/bin/env python
"""House-style figures of the notebooks: export-cell length, exported definitions followed by a test, longest line.

A definition counts as tested when a code cell after it, before the next export cell that defines something else
unrelated, names it and calls a `test_*` function or `assert`s. Run: `python tools/style_report.py [--per-notebook]`."""
import ast, json, re, statistics, sys
from pathlib import Path

NBS = Path(__file__).resolve().parent.parent/'nbs'
TEST = re.compile(r'\b(test_\w+|assert)\b')

def _cells(nb):
    for c in json.loads(nb.read_text())['cells']:
        if c['cell_type'] == 'code': yield ''.join(c['source'])

def _is_export(src): return bool(re.match(r'\s*#\|\s*export\b', src))

def _definitions(src):
    "Names defined at top level of an export cell (functions, classes, patched methods, constants in __all__ style)."
    try: tree = ast.parse(src)
    except SyntaxError: return []
    names = []
    for node in tree.body:
        patched = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            'patch' in ast.unparse(d) for d in node.decorator_list)
        if not patched and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith('_'):
            names.append(node.name)
        elif patched and not node.name.startswith("_"):
            # a patched method is tested when a test names it or its class
            cls = node.args.args[0].annotation if node.args.args else None
            names.append(node.name + ('|' + ast.unparse(cls) if cls is not None else ''))
    return names

def _code_lines(src): return [l for l in src.splitlines() if l.strip() and not l.lstrip().startswith('#|')]

def report(nb):
    cells = list(_cells(nb))
    sizes, defs, tested, longest = [], 0, 0, 0
    for i, src in enumerate(cells):
        longest = max([longest] + [len(l) for l in src.splitlines()])
        if not _is_export(src): continue
        sizes.append(len(_code_lines(src)))
        for entry in _definitions(src):
            defs += 1
            name, *alts = entry.split('|')
            later = []
            for s in cells[i+1:]:
                if _is_export(s) and _definitions(s) and name not in s: break
                later.append(s)
            if any(TEST.search(s) and any(re.search(rf'\b{re.escape(n)}\b', s) for n in [name, *alts]) for s in later):
                tested += 1
            elif '--untested' in sys.argv: print(f'  untested: {nb.name}: {name}')
    return sizes, defs, tested, longest

def main():
    all_sizes, all_defs, all_tested, longest = [], 0, 0, 0
    for nb in sorted(NBS.rglob('*.ipynb')):
        if nb.name.startswith('_') or '.ipynb_checkpoints' in str(nb): continue
        sizes, defs, tested, lng = report(nb)
        all_sizes += sizes; all_defs += defs; all_tested += tested; longest = max(longest, lng)
        if '--per-notebook' in sys.argv and sizes:
            print(f'{nb.relative_to(NBS)}: {len(sizes)} export cells, median {statistics.median(sizes)}, '
                  f'tested {tested}/{defs} ({tested/max(defs,1):.0%}), longest line {lng}')
    print(f'export cells {len(all_sizes)}, median {statistics.median(all_sizes)} lines, max {max(all_sizes)}; '
          f'definitions followed by a test {all_tested}/{all_defs} ({all_tested/max(all_defs,1):.0%}); longest line {longest}')

if __name__ == '__main__': main()
