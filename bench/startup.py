"""Start-up cost of the `ft-nb` command and of importing the Predictor, as whole processes.

`python bench/startup.py [--repeat 5] [--json bench/results/startup.json]` times each command (median of the repeats) and
lists the heavy modules each import pulls in. A 1-line predict runs on an untrained token classifier over the bundled
MiniLM, saved once in a temporary folder."""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HEAVY = ['matplotlib', 'pandas', 'fastprogress', 'ipywidgets', 'torch', 'transformers', 'ft_nb.learner', 'ft_nb.train',
         'ft_nb.widgets', 'accelerate', 'datasets']

def make_model(folder:Path):
    from ft_nb.models import token_classifier, load_tokenizer, save_model
    model = token_classifier(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'], None)
    save_model(model, folder, load_tokenizer(None), task='ner', max_len=128)

def timed(cmd:list[str], stdin:str|None=None)->float:
    t = time.perf_counter()
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if r.returncode: sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return time.perf_counter() - t

def imported(code:str)->list[str]:
    probe = f"import sys; {code}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    return subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True).stdout.split()

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--repeat', type=int, default=5); ap.add_argument('--json', default=None)
    args = ap.parse_args()
    ftnb = [sys.executable, '-m', 'ft_nb.cli'] if os.environ.get('FT_NB_CLI_MODULE') else ['ft-nb']
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp)/'model'; make_model(model)
        cases = {'ft-nb --help': (ftnb + ['--help'], None), 'ft-nb train --help': (ftnb + ['train', '--help'], None),
                 'ft-nb predict --help': (ftnb + ['predict', '--help'], None),
                 'ft-nb lr-find --help': (ftnb + ['lr-find', '--help'], None),
                 'ft-nb train --print-config': (ftnb + ['train', '--print-config'], None),
                 'import Predictor': ([sys.executable, '-c', 'from ft_nb.inference import Predictor'], None),
                 'ft-nb predict, 1 line': (ftnb + ['predict', '--model', str(model)], 'John lives in Paris.\n')}
        results = {}
        for name, (cmd, stdin) in cases.items():
            times = [timed(cmd, stdin) for _ in range(args.repeat)]
            results[name] = dict(median_s=round(statistics.median(times), 3), min_s=round(min(times), 3))
            print(f'{name:28s} median {results[name]["median_s"]:.2f} s (min {results[name]["min_s"]:.2f})')
    for name, code in {'import Predictor': 'from ft_nb.inference import Predictor', 'import ft_nb.cli': 'import ft_nb.cli'}.items():
        results[name + ' imports'] = imported(code); print(f'{name} imports: {" ".join(results[name + " imports"])}')
    if args.json: Path(args.json).write_text(json.dumps(results, indent=1))

if __name__ == '__main__': main()
