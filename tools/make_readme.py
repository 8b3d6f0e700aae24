"""Write README.md from nbs/index.ipynb without Quarto (`nbdev-readme` needs it; it cannot be installed here).

Markdown cells are copied, code cells become ```python blocks (nbdev directives and `#| hide` cells left out),
and text outputs follow their cell. CI runs this and fails when README.md changes."""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
header = "<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file -->\n\n"

def _src(cell): return ''.join(cell['source'])

def _directives(src): return {m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', src, re.M)}

def _code(cell):
    src = _src(cell)
    if _directives(src) & {'hide', 'export', 'exporti', 'default_exp', 'exports'}: return ''
    src = re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip()
    out = ''.join(''.join(o.get('text', '')) if o['output_type'] == 'stream' else ''.join(o.get('data', {}).get('text/plain', ''))
                  for o in cell.get('outputs', []) if o['output_type'] in ('stream', 'execute_result'))
    return f"```python\n{src}\n```\n" + (f"\n```\n{out.rstrip()}\n```\n" if out.strip() else '')

def readme(nb_path=root/'nbs'/'index.ipynb'):
    cells = json.loads(Path(nb_path).read_text())['cells']
    parts = [_src(c).strip() + '\n' if c['cell_type'] == 'markdown' else _code(c) for c in cells]
    return header + '\n'.join(p for p in parts if p.strip())

if __name__ == '__main__':
    (root/'README.md').write_text(readme())
    print("README.md written from nbs/index.ipynb", file=sys.stderr)
