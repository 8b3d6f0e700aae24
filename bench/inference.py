"""Inference at the limit of the machine (issue 19): every backend and int8 scheme of ft-nb's `Predictor`, one process, one run.

    python bench/inference.py --model DIR [--texts valid.txt] [--n 2000] [--threads 2] [--repeat 2] [--bs 32]
                              [--max-tokens 2048[,4096...]] [--budget-variants eager,onnx...] [--sweep 1024,8192]
                              [--whole 10000 --lines train.txt] [--out bench/results/inference.json]
    python bench/inference.py --model DIR --cache-only [--max-tokens 2048]   # the compiled warm-up, cold then warm

Tags the first `--n` sentences of `--texts` (CoNLL-2003 valid), given as pre-split words, with one `Predictor` per variant
(batch `--bs`, length-sorted batches, warm: each variant is warmed up first, its warm-up timed apart), times the best
of `--repeat` passes (variants interleaved), and scores each pass's tags against the file's gold tags (strict F1):
  float32   eager_fastlinear (FastLinear: oneDNN through private torch operators), eager (plain nn.Linear),
            eager_attn (attention without SDPA), compile (torch.compile, inductor, freezing, dynamic shapes),
            onnx (ONNX Runtime on ft-nb's export), onnx_fused (the same graph through ORT's transformer optimizer);
  int8      torch dynamic int8 (`quantize_int8`) per-tensor or per-channel, with layer groups left in float32;
            ONNX Runtime's dynamic int8 (`quantize_onnx`), per-channel or per-tensor.
Each variant runs with `--bs` sentences per batch, and again (named `<variant>_t<budget>`) with token-budget batches
(`Predictor(max_tokens=)`, `token_batches`) at each budget of `--max-tokens`, for the variants of `--budget-variants`,
and `eager` alone at each budget of `--sweep`.
Also: the fp32 matmul peak through public torch (`F.linear`, best over the encoder's shapes), the FLOPs of the workload
(linear layers and attention, on the real, unpadded tokens) and so each variant's share of the ceiling they give;
the compiled warm-up again in a fresh process (inductor's on-disk cache; with `--cache-only`, only that, in two fresh
processes sharing a new cache folder: cold, then warm, with dynamo's phase times and inductor's cache counters); and
with `--whole N` two whole processes on N raw lines, `ft-nb predict` (its default, and `--backend` of the fastest float32 variant) against the
`transformers` pipeline at its default batch size (bench/predict.py's pipeline script). Writes JSON to `--out`."""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
HERE = Path(__file__).resolve().parent

def parse(argv=None):
    from ft_nb.core import dev_data_dir
    d = dev_data_dir('conll2003')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', required=True, help="a folder written by ft-nb train (a token head)")
    p.add_argument('--texts', default=str(d/'valid.txt') if d else None, help="labelled CoNLL file: the sentences to tag and score")
    p.add_argument('--lines', default=str(d/'train.txt') if d else None, help="CoNLL file whose sentences become the raw lines of --whole")
    p.add_argument('--n', type=int, default=2000); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--variants', default='', help="comma-separated subset of the variants (default: all)")
    p.add_argument('--max-tokens', default='2048', help="comma-separated token budgets per batch, each run as a twin of the variants ('' for none)")
    p.add_argument('--budget-variants', default='', help="comma-separated variants that get the token-budget twins (default: all that run)")
    p.add_argument('--sweep', default='', help="more comma-separated budgets, for the twins of `eager` only (the budget's own curve)")
    p.add_argument('--cache-only', action='store_true', help="only the compiled warm-up in fresh processes, cold then warm inductor cache (at the first `--max-tokens`)")
    p.add_argument('--no-count', action='store_true', help="run only the token-budget twins, not the `--bs` batches")
    p.add_argument('--whole', type=int, default=0, help="also time whole processes on N raw lines")
    p.add_argument('--no-cache-check', action='store_true', help="skip the compiled warm-up in a fresh process")
    p.add_argument('--warm-child', nargs=2, help=argparse.SUPPRESS) # MODEL N: the fresh process's compiled warm-up
    p.add_argument('--out', default='bench/results/inference.json')
    return p.parse_args(argv)

def matmul_peak(shapes, repeat:int=10)->dict:
    "Best-of GFLOP/s of `F.linear` (public torch, MKL or oneDNN as torch picks) at each [m,k] x [n,k] shape, and the best of them."
    import torch, torch.nn.functional as F
    out = {}
    for m, k, n in shapes:
        x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n); best = float('inf')
        with torch.inference_mode():
            F.linear(x, w, b)
            for _ in range(repeat): t = time.perf_counter(); F.linear(x, w, b); best = min(best, time.perf_counter() - t)
        out[f'{m}x{k}x{n}'] = 2 * m * k * n / best / 1e9
    return out | {'peak': max(out.values())}

def workload_flops(model, lengths)->dict:
    "Forward FLOPs on sequences of `lengths` real tokens: 2 x linear weights per token, plus QK^T and AV (4 x T x d per token and layer)."
    import numpy as np
    from torch import nn
    lin = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    T, c = np.asarray(lengths, float), model.config
    linear, attn = float(2 * lin * T.sum()), float((4 * c.num_hidden_layers * c.hidden_size * T * T).sum())
    return dict(linear_params=lin, linear_gflop=linear / 1e9, attention_gflop=attn / 1e9, total_gflop=(linear + attn) / 1e9)

def strict_f1(gold, tagged)->float:
    from ft_nb.metrics import EntityScorer
    s = EntityScorer(); s.update(gold, [[t for t, _ in ws] for ws in tagged]); return s.summary()['f1']

def ort_fused(src:Path, dst:Path, config)->dict:
    "ORT's transformer optimizer (attention, layer norm, GELU fusions) on `src`, saved to `dst`; the fused operators it found."
    from onnxruntime.transformers.optimizer import optimize_model
    m = optimize_model(str(src), model_type='bert', num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
    m.save_model_to_file(str(dst)); return {k: v for k, v in m.get_fused_operator_statistics().items() if v}

def variants(model_dir:Path, work:Path, bs:int, only:set, max_tokens:int|None=None)->dict:
    "name -> (kind, a function building the Predictor, batches of `bs` items or of `max_tokens` padded tokens); built lazily, so each setup is timed on its own."
    from ft_nb.inference import Predictor, quantize_int8
    from ft_nb.models import load_model, load_tokenizer
    from ft_nb.export import export_onnx, quantize_onnx
    tok = load_tokenizer(model_dir); kw = dict(batch_size=None if max_tokens else bs, max_len=load_model(model_dir).meta.get('max_len'), max_tokens=max_tokens)
    fresh = lambda: load_model(model_dir)
    def attn_eager():
        m = fresh(); m.encoder.set_attn_implementation('eager'); return Predictor(m, tok, fast=False, **kw)
    def onnx_file():
        if not (work/'model.onnx').exists(): export_onnx(fresh(), tok, work/'model.onnx')
        return work/'model.onnx'
    def fused():
        if not (work/'fused.onnx').exists(): variants.fusions = ort_fused(onnx_file(), work/'fused.onnx', fresh().config)
        return Predictor(fresh(), tok, backend='onnx', onnx=work/'fused.onnx', **kw)
    def ort_int8(per_channel):
        dst = work/f'int8_{per_channel}.onnx'
        if not dst.exists(): quantize_onnx(onnx_file(), dst, per_channel=per_channel)
        return Predictor(fresh(), tok, backend='onnx', quantize='int8', onnx=dst, **kw)
    torch_int8 = lambda per_channel, keep: lambda: Predictor(quantize_int8(fresh(), per_channel, keep), tok, fast=False, **kw)
    vs = {'eager_fastlinear': ('float32', lambda: Predictor(fresh(), tok, fast=True, **kw)),
          'eager': ('float32', lambda: Predictor(fresh(), tok, fast=False, **kw)),
          'eager_attn': ('float32', attn_eager),
          'compile': ('float32', lambda: Predictor(fresh(), tok, backend='compile', **kw)),
          'onnx': ('float32', lambda: Predictor(fresh(), tok, backend='onnx', onnx=onnx_file(), **kw)),
          'onnx_fused': ('float32', fused),
          'int8_tensor_all': ('int8', torch_int8(False, ())),
          'int8_channel_all': ('int8', torch_int8(True, ())),
          'int8_channel_cls': ('int8', torch_int8(True, ('classifier',))),
          'int8_channel_cls_ffnout': ('int8', torch_int8(True, ('classifier', 'ffn_output'))),
          'int8_channel_cls_outs': ('int8', torch_int8(True, ('classifier', 'ffn_output', 'attention_output'))),
          'ort_int8_channel': ('int8', lambda: ort_int8(True)),
          'ort_int8_tensor': ('int8', lambda: ort_int8(False))}
    return {k: v for k, v in vs.items() if not only or k in only}

def warm_child(model:str, n:int)->None:
    "A fresh process: the compiled Predictor's first call on `n` sentences (its warm-up, from inductor's on-disk cache if warm)."
    import torch
    from ft_nb.data.conll import read_conll
    from ft_nb.inference import Predictor
    words = [s.words for s in read_conll(os.environ['BENCH_TEXTS'])[0][:n]]
    budget = int(os.environ['BENCH_MAX_TOKENS']) or None
    p = Predictor.from_folder(model, backend='compile', max_tokens=budget, batch_size=None if budget else 32)
    t = time.perf_counter(); p.tag_words(words); p.tag_words(words[:1]); warm = time.perf_counter() - t
    from torch._dynamo.utils import compile_times, counters # where the warm-up went, and what inductor's cache served
    head, row = compile_times(repr='csv', aggregate=True)
    print(json.dumps(dict(warmup_s=warm, phases_s={h: float(v) for h, v in zip(head, row)}, inductor={k: v for k, v in counters['inductor'].items() if 'cache' in k})))

def cache_check(args, budget:int|None)->dict:
    "The compiled warm-up in two fresh processes sharing a new, empty inductor cache folder: cold, then warm."
    out = {}
    with tempfile.TemporaryDirectory() as d:
        env = os.environ | {'BENCH_TEXTS': args.texts, 'BENCH_MAX_TOKENS': str(budget or 0), 'TORCHINDUCTOR_CACHE_DIR': d}
        for k in ('cold', 'warm'):
            t = time.perf_counter(); r = subprocess.run([sys.executable, __file__, '--model', args.model, '--threads', str(args.threads), '--warm-child', args.model, '256'],
                                                       env=env, stdout=subprocess.PIPE, check=True, text=True)
            out[k] = json.loads(r.stdout.strip().splitlines()[-1]) | dict(process_s=time.perf_counter() - t)
            print(f"  compiled warm-up, {k} inductor cache, fresh process: {out[k]['warmup_s']:.1f} s (process {out[k]['process_s']:.1f} s) {out[k]['inductor']}", flush=True)
    return out

def whole_processes(args, backend:str)->dict:
    "Wall seconds, start to exit, of `ft-nb predict` (default backend, and `backend`) and of the pipeline script on `--whole` raw lines."
    from ft_nb.data.conll import read_conll
    lines = [' '.join(s.words) for s in read_conll(args.lines)[0][:args.whole]]
    out = {}
    with tempfile.TemporaryDirectory() as d:
        src = Path(d)/'lines.txt'; src.write_text('\n'.join(lines) + '\n', encoding='utf-8')
        env = os.environ | {'OMP_NUM_THREADS': str(args.threads), 'TOKENIZERS_PARALLELISM': 'false'}
        ftnb = [sys.executable, '-c', 'import sys; from ft_nb.cli import main; sys.exit(main())', 'predict', '--model', args.model, '--input', str(src)]
        cmds = {'ftnb_predict': ftnb} | ({f'ftnb_predict_{backend}': ftnb + ['--backend', backend]} if backend != 'eager' else {}) \
               | {'pipeline_default_batch': [sys.executable, str(HERE/'predict.py'), '--pipe-process', args.model, str(src)]}
        for k, cmd in cmds.items():
            t = time.perf_counter(); r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
            out[k] = dict(seconds=time.perf_counter() - t, lines_out=r.stdout.count(b'\n'), cmd=' '.join(cmd[3:] if k.startswith('ftnb') else cmd[1:]))
            print(f"  whole process {k}: {out[k]['seconds']:.1f} s for {len(lines)} lines", flush=True)
    assert all(o['lines_out'] == len(lines) for o in out.values()), out
    pipe = out['pipeline_default_batch']['seconds']
    return dict(lines=len(lines), processes=out, ratios={f'{k}_over_pipeline': pipe / o['seconds'] for k, o in out.items() if k.startswith('ftnb')})

def main(argv=None):
    args = parse(argv)
    import torch
    torch.set_num_threads(args.threads)
    if args.warm_child: return warm_child(args.warm_child[0], int(args.warm_child[1]))
    if args.cache_only:
        budget = int(args.max_tokens.split(',')[0]) if args.max_tokens else None
        out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dict(max_tokens=budget, torch=torch.__version__, compile_cache=cache_check(args, budget)), indent=1) + '\n')
        return print(f"wrote {out}")
    from ft_nb.data.conll import read_conll
    from ft_nb.models import load_model
    sents = read_conll(args.texts)[0][:args.n]; words, gold = [s.words for s in sents], [s.tags for s in sents]
    work = Path(tempfile.mkdtemp(prefix='ftnb-bench-inference-'))
    only, budgets = {v for v in args.variants.split(',') if v}, [int(b) for b in args.max_tokens.split(',') if b]
    vs = {} if args.no_count else variants(Path(args.model), work, args.bs, only)
    twins = {v for v in args.budget_variants.split(',') if v} or only
    for b in budgets: vs |= {f'{k}_t{b}': v for k, v in variants(Path(args.model), work, args.bs, twins, b).items()}
    for b in [int(b) for b in args.sweep.split(',') if b]: vs |= {f'eager_t{b}': variants(Path(args.model), work, args.bs, {'eager'}, b)['eager']}
    budget_of = lambda k: int(k.rsplit('_t', 1)[1]) if '_t' in k and k.rsplit('_t', 1)[1].isdigit() else None
    model = load_model(args.model); c = model.config
    from ft_nb.data.align import Aligner
    lengths = [len(it['input_ids']) for it in Aligner(__import__('ft_nb.models', fromlist=['x']).load_tokenizer(args.model), max_len=model.meta.get('max_len')).encode(words)]
    flops = workload_flops(model, lengths)
    d, f = c.hidden_size, c.intermediate_size
    peak = matmul_peak([(1024, d, d), (1024, d, f), (1024, f, d)])
    print(f"fp32 F.linear peak {peak['peak']:.1f} GFLOP/s; workload {flops['total_gflop']:.1f} GFLOP for {len(words)} sentences "
          f"({sum(lengths)} tokens): ceiling {len(words) / (flops['total_gflop'] / peak['peak']):.0f} sent/s", flush=True)
    preds, res = {}, {}
    for k, (kind, make) in vs.items(): # build and warm each: export, quantisation, compilation timed here, not in the runs
        t = time.perf_counter(); preds[k] = make(); setup = time.perf_counter() - t
        t = time.perf_counter(); preds[k].tag_words(words[:256]); preds[k].tag_words(words[:1]); warm = time.perf_counter() - t
        res[k] = dict(kind=kind, max_tokens=budget_of(k), setup_s=setup, warmup_s=warm, seconds=float('inf'))
        print(f"  {k:24s} setup {setup:6.1f} s, warm-up {warm:6.1f} s", flush=True)
    for r in range(args.repeat):
        for k, p in preds.items():
            t = time.perf_counter(); tagged = p.tag_words(words); dt = time.perf_counter() - t
            res[k]['seconds'] = min(res[k]['seconds'], dt); res[k]['f1'] = strict_f1(gold, tagged)
            print(f"  run {r + 1}/{args.repeat} {k:24s} {dt:6.2f} s  F1 {res[k]['f1']:.4f}", flush=True)
    ceiling = len(words) / (flops['total_gflop'] / peak['peak'])
    for k, x in res.items(): x |= dict(sent_per_s=len(words) / x['seconds'], of_ceiling=len(words) / x['seconds'] / ceiling)
    f32 = {k: x for k, x in res.items() if x['kind'] == 'float32'}; i8 = {k: x for k, x in res.items() if x['kind'] == 'int8'}
    best = lambda d, pre='': max((k for k in d if k.startswith(pre)), key=lambda k: d[k]['sent_per_s'], default=None)
    ref_f1 = res.get('eager', res.get(best(f32) or '', {})).get('f1')
    for x in i8.values(): x['f1_drop'] = ref_f1 - x['f1'] if ref_f1 is not None else None
    ratios = {}
    torch_f32 = lambda d: {k: x for k, x in d.items() if not k.startswith(('eager_fastlinear', 'onnx'))} # torch on public paths only
    ftnb_f32 = best(torch_f32(f32))
    ort_f32, ort_i8 = best(f32, 'onnx'), best(i8, 'ort_') # over every batching
    if ftnb_f32 and ort_f32: ratios[f'{ftnb_f32}_over_{ort_f32}'] = f32[ftnb_f32]['sent_per_s'] / f32[ort_f32]['sent_per_s']
    for mt in sorted({x['max_tokens'] for x in res.values()}, key=lambda m: m or 0): # the same comparison within each batching
        same = {k: x for k, x in f32.items() if x['max_tokens'] == mt}; t_, o_ = best(torch_f32(same)), best(same, 'onnx')
        if t_ and o_ and (t_, o_) != (ftnb_f32, ort_f32): ratios[f'{t_}_over_{o_}'] = same[t_]['sent_per_s'] / same[o_]['sent_per_s']
    for k, x in res.items(): # each token-budget twin against its `--bs` batches
        if x['max_tokens'] and (base := k.rsplit('_t', 1)[0]) in res: ratios[f'{k}_over_{base}'] = x['sent_per_s'] / res[base]['sent_per_s']
    if 'eager_fastlinear' in f32 and 'eager' in f32: ratios['eager_fastlinear_over_eager'] = f32['eager_fastlinear']['sent_per_s'] / f32['eager']['sent_per_s']
    if 'compile' in f32 and 'eager' in f32: ratios['compile_over_eager'] = f32['compile']['sent_per_s'] / f32['eager']['sent_per_s']
    keeps = lambda ort: {k: x for k, x in i8.items() if k.startswith('ort_') == ort and x['f1_drop'] is not None and x['f1_drop'] <= 0.003}
    ti8, oi8 = best(keeps(False)), best(keeps(True)) # the fastest int8 of each kind that keeps F1 within 0.003
    if ti8 and oi8: ratios[f'{ti8}_over_{oi8}'] = i8[ti8]['sent_per_s'] / i8[oi8]['sent_per_s']
    if ti8 and ort_i8 and ort_i8 != oi8: ratios[f'{ti8}_over_{ort_i8}'] = i8[ti8]['sent_per_s'] / i8[ort_i8]['sent_per_s']
    cache = None
    if 'compile' in preds and not args.no_cache_check:
        env = os.environ | {'BENCH_TEXTS': args.texts, 'BENCH_MAX_TOKENS': '0'}
        t = time.perf_counter(); r = subprocess.run([sys.executable, __file__, '--model', args.model, '--threads', str(args.threads), '--warm-child', args.model, '256'],
                                                   env=env, stdout=subprocess.PIPE, check=True, text=True)
        cache = json.loads(r.stdout.strip().splitlines()[-1]) | dict(process_s=time.perf_counter() - t)
        print(f"  compiled warm-up in a fresh process (inductor's cache): {cache['warmup_s']:.1f} s (in this process: {res['compile']['warmup_s']:.1f} s)", flush=True)
    whole = whole_processes(args, 'compile' if ftnb_f32 and ftnb_f32.startswith('compile') else 'eager') if args.whole else None
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                threads=args.threads, torch=torch.__version__, onnxruntime=__import__('onnxruntime').__version__, n=len(words), tokens=sum(lengths),
                bs=args.bs, max_tokens=budgets, repeat=args.repeat, model=args.model, texts=args.texts, matmul_gflops=peak, flops=flops, ceiling_sent_per_s=ceiling,
                ort_fusions=getattr(variants, 'fusions', None))
    print(f"\n{meta['date']}  {meta['machine']}, {args.threads} threads; {len(words)} sentences, batch {args.bs}, best of {args.repeat}; "
          f"ceiling {ceiling:.0f} sent/s ({peak['peak']:.1f} GFLOP/s)")
    print(f"{'variant':30s} {'kind':7s} {'batches':>8s} {'sent/s':>7s} {'ceiling':>7s} {'F1':>7s} {'drop':>7s} {'setup s':>7s} {'warm s':>7s}")
    for k, x in res.items():
        drop, batches = '' if x.get('f1_drop') is None else f"{x['f1_drop']:7.4f}", f"{x['max_tokens']} tok" if x['max_tokens'] else f"{args.bs} sent"
        print(f"{k:30s} {x['kind']:7s} {batches:>8s} {x['sent_per_s']:7.1f} {x['of_ceiling']:7.1%} {x['f1']:7.4f} {drop:>7s} {x['setup_s']:7.1f} {x['warmup_s']:7.1f}")
    for k, v in ratios.items(): print(f"{k}: {v:.2f}x")
    if whole: print('whole processes on', whole['lines'], 'lines: ' + ', '.join(f"{k} {v:.2f}x" for k, v in whole['ratios'].items()))
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, results=res, ratios=ratios, compile_cache=cache, whole_process=whole), indent=1) + '\n')
    shutil.rmtree(work, ignore_errors=True); print(f"wrote {out}")

if __name__ == '__main__': main()
