"""Load test of `ft-nb serve`: one-text requests from 1, 8, 32 and 128 concurrent clients, against `ft-nb predict`.

    python bench/serve_load.py [--model DIR] [--n 2000] [--levels 1,8,32,128] [--texts FILE]
                               [--max-batch 32] [--max-wait-ms 5] [--out bench/results/serve.json]

Everything runs on 127.0.0.1 and stops by itself. The model is `--model`, or else the bundled MiniLM with an untrained
token head (random weights, so the entities mean nothing; the cost of computing them is the real one). The texts are the
first `--n` lines of `--texts`, or else sentences of the bundled WNUT-17 dev set with their words joined by spaces.

1. Reference: `ft-nb predict --model M --input F` on those lines, a whole process timed from start to exit, as a batch
   job runs; its JSON lines are the expected answers.
2. `ft-nb serve` (via `ft_nb.serve.serve_main`) in a subprocess on a free port; once `/health` answers 200, for each
   level of concurrency C, C clients (one `httpx.AsyncClient`, C connections) send the `--n` lines, one request each:
   requests per second over the level's wall time, p50/p95/p99 latency, errors (any non-200 or failed request), and
   answers that differ from `ft-nb predict`'s (anything but a score, or a score by more than `SCORE_TOL`: the same text
   in a batch of other lengths gets scores that differ by float rounding, about 1e-7), and how many are bit-identical.
3. Malformed requests (each must get a 4xx), `/health` afterwards, then SIGTERM: the exit code and seconds to exit."""
import argparse, asyncio, json, math, os, platform, signal, socket, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path

SERVER = "import sys; from ft_nb.serve import serve_main; sys.exit(serve_main(sys.argv[1:]))"
PREDICT = "import sys; from ft_nb.cli import main; sys.exit(main(sys.argv[1:]))" # what the ft-nb script runs
# Scores of the same text in batches of other lengths differ by float rounding (~1e-7: matrix products of other shapes);
# answers count as differing when anything else differs (a label, an offset, an entity) or a score by more than this.
SCORE_TOL = 1e-5
MALFORMED = [b'{"texts": ', b'[]', b'{}', b'{"texts": "one"}', b'{"texts": []}', b'{"texts": [1]}', b'{"texts": ["a"], "words": "x"}',
             b'{"text": ["a"]}', json.dumps({'texts': ['a' * 20_000]}).encode(), json.dumps({'texts': ['a'] * 1000}).encode()]

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', help="a saved ft-nb model folder (default: the bundled MiniLM, untrained token head)")
    p.add_argument('--texts', help="a text file, one text per line (default: WNUT-17 dev sentences)")
    p.add_argument('--n', type=int, default=2000, help="requests per level, one text each (default 2000)")
    p.add_argument('--levels', default='1,8,32,128', help="concurrent clients, comma-separated (default 1,8,32,128)")
    p.add_argument('--max-batch', type=int, default=32); p.add_argument('--max-wait-ms', type=float, default=5.0)
    p.add_argument('--level-timeout', type=float, default=300, help="seconds after which a level stops (default 300)")
    p.add_argument('--out', default='bench/results/serve.json')
    return p.parse_args(argv)

def untrained_minilm(folder:Path)->Path:
    "The bundled MiniLM with a fresh (seeded, untrained) WNUT-17 token head, saved to `folder`."
    from ft_nb.core import set_seed
    from ft_nb.models import token_classifier, load_tokenizer, save_model
    set_seed(0)
    types = ['corporation', 'creative-work', 'group', 'location', 'person', 'product']
    labels = ['O'] + [f"{p}-{t}" for t in types for p in 'BI']
    return save_model(token_classifier(labels, None), folder, load_tokenizer(None), max_len=128)

def wnut_lines(n:int)->list[str]:
    "`n` raw texts: WNUT-17 dev sentences, words joined by spaces, cycled if needed."
    from ft_nb.data.conll import read_conll
    from ft_nb.train import bundled_ner_data
    sents = [' '.join(s.words) for s in read_conll(bundled_ner_data()['valid'])[0] if s.words]
    return [sents[i % len(sents)] for i in range(n)]

def free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def offline(model, lines:list[str], folder:Path)->tuple[dict, list[dict]]:
    "Time `ft-nb predict` on `lines` as a whole process; its timing and its records."
    (folder/'lines.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    t = time.perf_counter()
    res = subprocess.run([sys.executable, '-c', PREDICT, 'predict', '--model', str(model), '--input', str(folder/'lines.txt')],
                         capture_output=True, text=True, timeout=1800)
    secs = time.perf_counter() - t
    if res.returncode: raise SystemExit(f"ft-nb predict failed: {res.stderr[-2000:]}")
    return {'seconds': secs, 'texts_per_s': len(lines) / secs}, [json.loads(l) for l in res.stdout.splitlines()]

def start_server(model, port:int, args, log:Path)->subprocess.Popen:
    "`ft-nb serve` in a subprocess, its log (one line per request) to the file `log`: a pipe nobody reads would fill up."
    cmd = [sys.executable, '-c', SERVER, '--model', str(model), '--host', '127.0.0.1', '--port', str(port),
           '--max-batch', str(args.max_batch), '--max-wait-ms', str(args.max_wait_ms)]
    with open(log, 'w') as f: return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=f)

def wait_healthy(url:str, proc:subprocess.Popen, timeout:float=120, log:Path|None=None):
    import httpx
    for _ in range(int(timeout * 10)):
        if proc.poll() is not None: raise SystemExit(f"the server exited: {log.read_text()[-2000:] if log else proc.returncode}")
        try:
            if httpx.get(f"{url}/health").status_code == 200: return
        except httpx.TransportError: pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not healthy within {timeout} s")

def score_gap(a, b)->float:
    "0 when records `a` and `b` are identical; the largest score difference when only scores differ; inf otherwise."
    if isinstance(a, dict) and isinstance(b, dict):
        return max((score_gap(a[k], b[k]) for k in a), default=0.0) if a.keys() == b.keys() else math.inf
    if isinstance(a, list) and isinstance(b, list):
        return max((score_gap(x, y) for x, y in zip(a, b)), default=0.0) if len(a) == len(b) else math.inf
    if isinstance(a, float) and isinstance(b, float): return abs(a - b)
    return 0.0 if a == b else math.inf

def percentile(xs:list[float], q:float)->float:
    "The `q`-th percentile of `xs` (nearest rank)."
    xs = sorted(xs); return xs[max(0, math.ceil(q / 100 * len(xs)) - 1)] if xs else float('nan')

async def load_level(url:str, lines:list[str], concurrency:int, expected:list[dict]|None=None, timeout:float=300)->dict:
    "Send each of `lines` as a one-text request from `concurrency` clients; throughput, latency, errors, differing answers."
    import httpx
    todo, lat, gaps, failed, errors = iter(range(len(lines))), [], [], 0, 0
    async def client(c):
        nonlocal failed, errors
        for i in todo:
            t = time.perf_counter()
            try: r = await c.post('/predict', json={'texts': [lines[i]]})
            except httpx.HTTPError: failed += 1; continue
            lat.append(time.perf_counter() - t)
            if r.status_code != 200: errors += 1
            elif expected is not None: gaps.append(score_gap(r.json()['results'], [expected[i]]))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as c:
        t = time.perf_counter()
        done, pending = await asyncio.wait([asyncio.create_task(client(c)) for _ in range(concurrency)], timeout=timeout)
        for p in pending: p.cancel()
        secs = time.perf_counter() - t
    ms = [x * 1000 for x in lat]
    return {'concurrency': concurrency, 'requests': len(lat), 'seconds': secs, 'requests_per_s': len(lat) / secs,
            'p50_ms': percentile(ms, 50), 'p95_ms': percentile(ms, 95), 'p99_ms': percentile(ms, 99),
            'errors': errors + failed, 'unanswered': len(lines) - len(lat) - failed, 'identical': sum(g == 0 for g in gaps),
            'differ': sum(g > SCORE_TOL for g in gaps), 'max_score_gap': max([g for g in gaps if g <= SCORE_TOL], default=0.0), 'stopped_early': bool(pending)}

def malformed_and_health(url:str)->dict:
    import httpx
    statuses = [httpx.post(f"{url}/predict", content=body, headers={'content-type': 'application/json'}).status_code for body in MALFORMED]
    return {'statuses': statuses, 'all_4xx': all(400 <= s < 500 for s in statuses), 'healthy_after': httpx.get(f"{url}/health").status_code == 200}

def sigterm(proc:subprocess.Popen)->dict:
    t = time.perf_counter(); proc.send_signal(signal.SIGTERM)
    try: rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired: proc.kill(); rc = 'killed after 30 s'
    return {'returncode': rc, 'seconds_to_exit': time.perf_counter() - t}

def main(argv=None):
    args = parse(argv)
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or untrained_minilm(tmp/'model')
        lines = (Path(args.texts).read_text(encoding='utf-8').splitlines()[:args.n] if args.texts else wnut_lines(args.n))
        ref, expected = offline(model, lines, tmp)
        print(f"offline ft-nb predict: {ref['texts_per_s']:.1f} texts/s ({ref['seconds']:.1f} s for {len(lines)} lines)", flush=True)
        port = free_port(); url = f"http://127.0.0.1:{port}"
        proc = start_server(model, port, args, tmp/'server.log')
        try:
            wait_healthy(url, proc, log=tmp/'server.log'); levels = []
            for c in map(int, args.levels.split(',')):
                levels.append(r := asyncio.run(load_level(url, lines, c, expected, args.level_timeout)))
                r['vs_offline'] = r['requests_per_s'] / ref['texts_per_s']
                print(f"{c:>4} clients: {r['requests_per_s']:7.1f} req/s  p50 {r['p50_ms']:6.1f}  p95 {r['p95_ms']:6.1f}  p99 {r['p99_ms']:6.1f} ms"
                      f"  errors {r['errors']}  differ {r['differ']}  x{r['vs_offline']:.2f} offline", flush=True)
            checks = malformed_and_health(url)
        finally: stop = sigterm(proc)
    print(f"malformed all 4xx: {checks['all_4xx']}, healthy after: {checks['healthy_after']}, SIGTERM: {stop}")
    out = {'when': datetime.now(timezone.utc).isoformat(timespec='seconds'), 'machine': {'cpus': os.cpu_count(), 'platform': platform.platform()},
           'model': str(args.model or 'bundled MiniLM, untrained token head'), 'n': len(lines), 'max_batch': args.max_batch,
           'max_wait_ms': args.max_wait_ms, 'offline': ref, 'levels': levels, 'malformed': checks, 'sigterm': stop}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(out, indent=1) + '\n')
    return out

if __name__ == '__main__': main()
