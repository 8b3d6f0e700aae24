"""Does inductor's `max_autotune` (its CPU GEMM templates) beat the default compiled path? A probe at fixed shapes.

    python bench/autotune.py --model /work/models/conll-minilm [--out bench/results/autotune.json]

The encoder of a saved token classifier (plain `transformers`, SDPA attention) on random ids at two shapes of 2,048 tokens
each (64 × 32 and 32 × 64), static shapes so that each compiles once: eager, `torch.compile(options={'freezing': True})`
and the same with `'max_autotune': True`. Median of 15 warm forwards, 2 threads; tokens per second per variant and shape.
"""
import argparse, json, time
from pathlib import Path

def bench(f, x, n:int=15)->float:
    "The median seconds of `n` warm forwards of `f` on ids `x`."
    import torch
    with torch.inference_mode():
        for _ in range(3): f(input_ids=x, attention_mask=torch.ones_like(x))
        ts = []
        for _ in range(n): t = time.perf_counter(); f(input_ids=x, attention_mask=torch.ones_like(x)); ts.append(time.perf_counter() - t)
    return sorted(ts)[n // 2]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', required=True); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='bench/results/autotune.json'); args = p.parse_args(argv)
    import torch
    from transformers import AutoModelForTokenClassification
    torch.set_num_threads(args.threads); torch.manual_seed(0)
    m, out = AutoModelForTokenClassification.from_pretrained(args.model, attn_implementation='sdpa').eval(), {}
    for name, opts in [('eager', None), ('compile', {'freezing': True}), ('autotune', {'freezing': True, 'max_autotune': True})]:
        f = m if opts is None else torch.compile(m, options=opts, dynamic=False)
        for b, t in [(64, 32), (32, 64)]:
            x = torch.randint(1000, 20000, (b, t)); t0 = time.perf_counter()
            with torch.inference_mode(): f(input_ids=x, attention_mask=torch.ones_like(x))
            first = time.perf_counter() - t0; s = bench(f, x)
            out[f'{name}_{b}x{t}'] = dict(first_s=first, median_s=s, tokens_per_s=b * t / s)
            print(f"{name:9} {b}x{t}: first call {first:.1f} s, median {s * 1e3:.1f} ms, {b * t / s:,.0f} tokens/s", flush=True)
    Path(args.out).write_text(json.dumps(dict(date=time.strftime('%Y-%m-%dT%H:%M:%S%z'), torch=torch.__version__, threads=args.threads,
                                              model=args.model, results=out), indent=1))

if __name__ == '__main__': main()
