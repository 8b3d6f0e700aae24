"""Write README.md from nbs/index.ipynb without Quarto (`nbdev-readme` needs it; it cannot be installed here).

Markdown cells are copied, code cells become ```python blocks (nbdev directives and `#| hide` cells left out), text
outputs follow their cell (progress bars reduced to their last frame), and figures are written to `docs/screenshots/`
and shown from there. Links to notebooks point into `nbs/`. CI runs this and fails when README.md changes."""
import base64, json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
header = "<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file -->\n\n"

_bar = re.compile(r'\d+(\.\d+)?%|\[\d+/\d+')

def last_frames(text:str)->str:
    """What is left to read once progress bars are done: of the frames a bar redraws with `\\r` on one line, its last
    one (the frame a blanking frame erased, as fastprogress ends a bar), then whatever was printed after it."""
    def line(frames):
        frames = [f.lstrip('█').rstrip() for f in frames]
        kept, bar = [], None
        for f in filter(None, frames):
            if bar is not None and bar.startswith(f): kept.append(bar); bar = None  # a blank over the bar: it is done
            elif _bar.search(f): bar = f
            else:
                if bar is not None: kept.append(bar); bar = None
                kept.append(f)
        return '\n'.join(kept + ([bar] if bar is not None else []))
    return '\n'.join(line(l.split('\r')) if '\r' in l else l for l in text.split('\n'))

def _src(cell): return ''.join(cell['source'])

def _directives(src): return {m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', src, re.M)}

FIGURES = root/'docs'/'screenshots'

def _text_out(o):
    if o['output_type'] == 'stream': return ''.join(o.get('text', ''))
    data = o.get('data', {})
    return '' if any(k.startswith('image/') for k in data) else ''.join(data.get('text/plain', ''))

def _code(cell, figures:list):
    "A code cell as a python block, its text outputs as one block, then its figures (PNG bytes appended to `figures`)."
    src = _src(cell)
    if _directives(src) & {'hide', 'export', 'exporti', 'default_exp', 'exports'}: return ''
    echo = not re.search(r'^#\|\s*echo:\s*false', src, re.M)  # `#| echo: false`: the outputs without the code
    src = re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip()
    outs = [o for o in cell.get('outputs', []) if o['output_type'] in ('stream', 'execute_result', 'display_data')]
    out = last_frames(''.join(map(_text_out, outs)))
    md = (f"```python\n{src}\n```\n" if echo else '') + (f"\n```\n{out.rstrip()}\n```\n" if out.strip() else '')
    for o in outs:
        if png := ''.join(o.get('data', {}).get('image/png', '')):
            figures.append(base64.b64decode(png))
            md += f"\n![figure {len(figures)}](docs/screenshots/readme_figure_{len(figures)}.png)\n"
    return md

def _links(md):
    "Links to notebooks, relative to nbs/ in index.ipynb, made relative to the repository's root."
    return re.sub(r'\]\((?![a-z]+:|#|/)([^)\s]+\.ipynb(#[^)\s]*)?)\)', r'](nbs/\1)', md)

def readme(nb_path=root/'nbs'/'index.ipynb', figures:list|None=None):
    cells, figures = json.loads(Path(nb_path).read_text())['cells'], [] if figures is None else figures
    parts = [_links(_src(c).strip()) + '\n' if c['cell_type'] == 'markdown' else _code(c, figures) for c in cells]
    return header + '\n'.join(p for p in parts if p.strip())

if __name__ == '__main__':
    figures = []
    (root/'README.md').write_text(readme(figures=figures))
    for i, png in enumerate(figures, 1): (FIGURES/f'readme_figure_{i}.png').write_bytes(png)
    print("README.md written from nbs/index.ipynb", file=sys.stderr)
