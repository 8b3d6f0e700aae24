#!/usr/bin/env python
"""Execute notebooks in place so that they are committed with their outputs.

Cells flagged `#| slow`, `#| notest` or `#| eval: false` are not run: they keep the outputs they have (a real training run's
saved figures stay). Stops at the first failing cell. Run from the repository root, then `nbdev-clean`:
`python tools/run_nb.py nbs/01_math.ipynb [more.ipynb ...]`; `--slow` runs the `#| slow` cells too (a real training run
whose outputs are to be refreshed)."""
import os, re, sys, time
from pathlib import Path
from execnb.shell import CaptureShell, read_nb, write_nb
from IPython.core.displaypub import CapturingDisplayPublisher
sys.path.insert(0, str(Path(__file__).parent))
from widget_state import save_widget_state # the widgets' state, so that the site draws the panels

SKIP = re.compile(r'^\s*#\|\s*(slow|notest|eval:\s*false)\b', re.M)

def skip(cell)->bool: return cell.cell_type == 'code' and bool(SKIP.search(cell.source))
def skip_but_slow(cell)->bool: return skip(cell) and not re.search(r'^\s*#\|\s*slow\b', cell.source, re.M)

def last_frames(text:str)->str:
    "What a terminal shows of `text`: a progress bar redrawn with carriage returns keeps only its last frame."
    return '\n'.join(line.rsplit('\r', 1)[-1] if line.rstrip('\r') else line for line in text.replace('\r\n', '\n').split('\n'))

def tidy(nb):
    "Streams reduced to what a reader saw: the last frame of each redrawn line."
    for cell in nb.cells:
        for o in cell.get('outputs', []):
            if o.get('output_type') == 'stream': o['text'] = last_frames(''.join(o['text']))

def publish_in_place(self, data, metadata=None, source=None, *, transient=None, update=False):
    "As Jupyter does: `DisplayHandle.update` replaces the output with that display id, instead of adding a frame."
    out, shown = dict(data=data, metadata=metadata, transient=transient, update=update), (transient or {}).get('display_id')
    same = [i for i, o in enumerate(self.outputs) if update and shown and (o.get('transient') or {}).get('display_id') == shown]
    if same: self.outputs[same[0]] = out
    else: self.outputs.append(out)

CapturingDisplayPublisher.publish = publish_in_place # what execnb captures with: a live chart's frames pile up otherwise

def run(path:Path, slow:bool=False):
    nb, cwd = read_nb(path), os.getcwd()
    os.chdir(path.parent) # as nbdev-test runs them
    try:
        t = time.perf_counter()
        CaptureShell().run_all(nb, exc_stop=True, preproc=skip_but_slow if slow else skip)
        save_widget_state(nb); tidy(nb)
        print(f'{path}: ran in {time.perf_counter() - t:.1f}s')
    finally: os.chdir(cwd)
    write_nb(nb, path)

if __name__ == '__main__':
    args = sys.argv[1:]
    for p in [a for a in args if a != '--slow']: run(Path(p).resolve(), slow='--slow' in args)
