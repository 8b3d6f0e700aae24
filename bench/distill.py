"""Distillation: a fine-tuned MiniLM teacher into a 3-layer student cut from it, against the same student on labels alone.

    python bench/distill.py --teacher DIR [--layers 3] [--n 4000] [--epochs 2] [--lr 1e-4] [--bs 32]
                            [--steps 20] [--work /tmp/ft-nb-distill] [--out bench/results/distill.json]

Two runs of `ft-nb train`, each in its own process, one after the other, on the first `--n` sentences of CoNLL-2003
train, validated and scored on the whole validation file:

- `distilled`: from one config file (`distill.yaml`, written beside the runs): `teacher`, `student_layers`, and the
  defaults `temperature: 2`, `distill_weight: 0.5`; the teacher's logits are computed once before training;
- `labels_only`: the same command line with `--distill-weight 0`: the same student (the teacher cut to the same layers,
  its head copied), the same budget, the labels alone.

Each run's report (`metrics.json`, key `distillation`) gives teacher and student side by side on the validation file:
strict F1, parameters, size on disk, sentences per second over the whole file (one timing each, as the run ends). Then,
in this process: what the cache buys (`--steps` training steps of a fresh student with the teacher run on every batch,
against the same steps from a cache filled beforehand, with the time to fill it, and against labels alone), and the
speed of teacher and distilled student again, timed alternately, the best of two passes over the validation file each
(tokenising excluded, decoding included). Results go to `--out`."""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--teacher', required=True, help="an ft-nb NER model folder, e.g. MiniLM fine-tuned on all of CoNLL-2003 train"); p.add_argument('--layers', type=int, default=3)
    p.add_argument('--train', default=str(d/'train.txt') if d else None); p.add_argument('--valid', default=str(d/'valid.txt') if d else None)
    p.add_argument('--n', type=int, default=4000, help="training sentences: the first N of --train")
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--steps', type=int, default=20, help="training steps per variant in the cost measurement of the cache")
    p.add_argument('--work', default='/tmp/ft-nb-distill'); p.add_argument('--out', default='bench/results/distill.json')
    args = p.parse_args(argv)
    if not (args.train and args.valid): p.error("give --train and --valid (no shared/data/conll2003 found)")
    return args

def subset(args)->Path:
    "The first `--n` training sentences, as a CoNLL file in `--work`."
    from ft_nb.data.conll import read_conll, write_conll
    path = Path(args.work)/f'train{args.n}.conll'; write_conll(read_conll(args.train)[0][:args.n], path)
    return path

def train_run(args, name:str, train:Path, *flags)->dict:
    "One `ft-nb train` run into `--work/name`: its metrics.json, with the wall time of the whole command."
    out = Path(args.work)/name
    cmd = ['ft-nb', 'train', '--train', str(train), '--valid', args.valid, '--epochs', str(args.epochs), '--lr', str(args.lr),
           '--bs', str(args.bs), '--out', str(out), '--overwrite', '--no-keep-checkpoints', *flags]
    print('$', ' '.join(cmd), flush=True); start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode: sys.exit(f"{name} failed:\n{res.stderr[-3000:]}")
    print(res.stdout[res.stdout.find('distillation, on'):].split('weights kept')[0], flush=True)
    metrics = json.loads((out/'metrics.json').read_text())
    return dict(command=' '.join(cmd), wall_s=round(time.perf_counter() - start, 1), history=metrics['history'],
                valid=metrics['valid'], distillation=metrics['distillation'])

def cache_cost(args, train:Path)->dict:
    "Seconds per training step of a fresh student: teacher on every batch, from a filled cache, labels alone; and the time to fill it."
    import torch
    from ft_nb.config import TrainConfig
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.data.load import make_loader
    from ft_nb.distill import Distillation, cut_student
    from ft_nb.callbacks.distill import DistillCB
    from ft_nb.learner import Learner
    from ft_nb.tasks.core import get_task
    cfg = TrainConfig(teacher=args.teacher, student_layers=args.layers, bs=args.bs)
    dist = Distillation(cfg); task = get_task('ner')(cfg, dist.tokenizer); pad = dist.tokenizer.pad_token_id
    items = task.encode(read_conll(train)[0][:args.steps * args.bs], LabelVocab(dist.labels), train=True)
    def fit(cb)->float:
        torch.manual_seed(0); student, _ = cut_student(dist.teacher, args.layers)
        learn = Learner(student, make_loader(items, pad, args.bs, seed=0), None, args.lr, [cb] if cb else [])
        start = time.perf_counter(); learn.fit(1, valid=False); return (time.perf_counter() - start) / len(learn.train_dl)
    on_the_fly = fit(DistillCB(dist.teacher, cfg.distill_weight, cfg.temperature, key=None))
    cached = DistillCB(dist.teacher, cfg.distill_weight, cfg.temperature, cache=True, key=None)
    start = time.perf_counter(); cached.precompute(make_loader(items, pad, 64, shuffle=False)); fill = time.perf_counter() - start
    return dict(items=len(items), steps=-(-len(items) // args.bs), on_the_fly_s_per_step=round(on_the_fly, 4),
                cached_s_per_step=round(fit(cached), 4), labels_only_s_per_step=round(fit(None), 4), fill_s=round(fill, 2))

def speed(args, student:Path, rounds:int=2)->dict:
    "Sentences per second over the whole validation file, teacher and student alternately, the best of `rounds` each."
    from ft_nb.data.conll import read_conll
    from ft_nb.data.core import LabelVocab
    from ft_nb.models import load_model, load_tokenizer
    from ft_nb.tasks.core import saved_task
    models = {'teacher': load_model(args.teacher), 'student': load_model(student)}
    task = saved_task(models['student'], load_tokenizer(student)); sents = read_conll(args.valid)[0]
    vocab = LabelVocab(next(iter(models['student'].heads.values())).labels); items = task.encode(sents, vocab)
    best = {k: float('inf') for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            start = time.perf_counter(); task.evaluate(m, vocab, sents, items, 64); best[k] = min(best[k], time.perf_counter() - start)
    out = {f"{k}_sent_per_s": round(len(sents) / t, 1) for k, t in best.items()}
    return out | dict(sentences=len(sents), rounds=rounds, speedup=round(best['teacher'] / best['student'], 2))

def main(argv=None):
    args = parse(argv); Path(args.work).mkdir(parents=True, exist_ok=True)
    if not (Path(args.teacher)/'metrics.json').exists(): sys.exit(f"{args.teacher}: no finished teacher (metrics.json) yet")
    import torch; torch.set_num_threads(2)
    train = subset(args)
    config = Path(args.work)/'distill.yaml'
    config.write_text(f"teacher: {args.teacher}\nstudent_layers: {args.layers}\ntemperature: 2.0\ndistill_weight: 0.5\n")
    runs = {'distilled': train_run(args, 'distilled', train, '--config', str(config)),
            'labels_only': train_run(args, 'labels_only', train, '--teacher', args.teacher, '--student-layers', str(args.layers), '--distill-weight', '0')}
    cost, fast = cache_cost(args, train), speed(args, Path(args.work)/'distilled')
    d, b = runs['distilled']['distillation'], runs['labels_only']['distillation']
    summary = dict(teacher_f1=d['teacher']['score'], distilled_f1=d['student']['score'], labels_only_f1=b['student']['score'],
                   gain_from_teacher=round(d['student']['score'] - b['student']['score'], 4), score_loss=d['score_loss'],
                   speedup=d['speedup'], size_ratio=d['size_ratio'], teacher_sent_per_s=d['teacher']['items_per_s'],
                   student_sent_per_s=d['student']['items_per_s'], layers_kept=d['student_from']['layers_kept'],
                   cache_fill_s=d['cache_seconds'], epoch_s_distilled=[round(r['time'], 1) if isinstance(r['time'], (int, float)) else r['time'] for r in runs['distilled']['history']],
                   epoch_s_labels_only=[round(r['time'], 1) if isinstance(r['time'], (int, float)) else r['time'] for r in runs['labels_only']['history']])
    summary |= {'speed_best_of_2': fast}
    result = dict(settings=dict(teacher=args.teacher, layers=args.layers, n_train=args.n, epochs=args.epochs, lr=args.lr, bs=args.bs,
                                valid=args.valid, threads=torch.get_num_threads()), summary=summary, runs=runs, cache_cost=cost)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(summary, indent=1)); print(json.dumps(cost, indent=1)); print(f"written to {args.out}")

if __name__ == '__main__': main()
