"`ft-nb serve` over real HTTP on 127.0.0.1: the endpoints, every refusal, batching, timeouts, SIGTERM, a short load run."
import asyncio, copy, json, signal, sys, threading, time
from types import SimpleNamespace
import pytest
from conftest import ROOT, run

httpx = pytest.importorskip('httpx'); pytest.importorskip('fastapi'); pytest.importorskip('uvicorn')
from ft_nb.inference import Predictor
from ft_nb.serve import Limits, as_record, background_server, make_app, serve_main, wait_ready
sys.path.insert(0, str(ROOT/'bench'))
import serve_load

LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
TEXTS = ["Peter Blackburn flew to Rome", "German advice to consumers", "", "   ", "Émile Zola à Paris 🇫🇷 東京",
         "O'Brien met Anne-Gaelle in Chester-le-Street " * 3]
LIMITS = Limits(max_texts=8, max_text_chars=300, timeout_s=10)

@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    "A tiny random token model and a tiny random sequence model, saved as `ft-nb train` saves them."
    from ft_nb.core import set_seed
    from ft_nb.models import token_classifier, sequence_classifier, encoder_from_config, save_model
    from ft_nb.testing import tiny_tokenizer, tiny_config
    set_seed(0); d = tmp_path_factory.mktemp('serve'); tok = tiny_tokenizer('bert')
    save_model(token_classifier(LABELS, encoder_from_config(tiny_config('bert', tok))), d/'ner', tok, max_len=32)
    save_model(sequence_classifier(['neg', 'pos'], encoder_from_config(tiny_config('bert', tok))), d/'cls', tok, max_len=32)
    return d/'ner', d/'cls'

@pytest.fixture(scope='module')
def server(folders):
    app = make_app(folders[0], limits=LIMITS, max_batch=16, max_wait_ms=20)
    with background_server(app) as url:
        wait_ready(url); yield url, app.state.model_server

def records(pred, texts): return [as_record(t, r) for t, r in zip(texts, pred(texts))]

def post(url, **kw): return httpx.post(f"{url}/predict", timeout=30, **kw)

def test_health_info_and_docs(server, folders):
    url, _ = server
    assert httpx.get(f"{url}/health").json() == {'status': 'ok'}
    info = httpx.get(f"{url}/info").json()
    assert (info['task'], info['kind'], info['labels'], info['encoder']['type']) == ('ner', 'token', LABELS, 'bert')
    assert info['limits'] == {'max_texts': 8, 'max_text_chars': 300, 'timeout_s': 10, 'max_batch': 16, 'max_wait_ms': 20}
    import ft_nb; assert info['version'] == ft_nb.__version__
    docs = httpx.get(f"{url}/docs"); assert docs.status_code == 200 and 'swagger' in docs.text.lower()
    spec = httpx.get(f"{url}/openapi.json").json()
    assert spec['paths']['/predict']['post']['requestBody']['content']['application/json']['schema']['required'] == ['texts']

def test_predict_equals_predictor_and_options(server, folders):
    "One request of several texts is one Predictor call: the same records, to the bit; the options select words and aggregation."
    url, _ = server
    assert post(url, json={'texts': TEXTS}).json() == {'results': records(Predictor.from_folder(folders[0]), TEXTS)}
    for words, agg in [('tokenizer', 'max'), ('whitespace', 'mean'), (None, 'mean')]:
        want = records(Predictor.from_folder(folders[0], words=words or 'conll', aggregation=agg), TEXTS)
        assert post(url, json={'texts': TEXTS, 'words': words, 'aggregation': agg}).json()['results'] == want, (words, agg)
    assert post(url, json={'texts': TEXTS}).json()['results'] == records(Predictor.from_folder(folders[0]), TEXTS) # defaults unchanged

def test_answers_are_what_ft_nb_predict_prints(server, folders, tmp_path):
    url, _ = server
    (tmp_path/'t.txt').write_text('\n'.join(TEXTS) + '\n', encoding='utf-8')
    res = run(sys.executable, '-c', serve_load.PREDICT, 'predict', '--model', str(folders[0]), '--input', str(tmp_path/'t.txt'))
    assert res.returncode == 0, res.stderr[-2000:]
    assert post(url, json={'texts': TEXTS}).json()['results'] == [json.loads(l) for l in res.stdout.splitlines()]

def test_sequence_head(folders):
    texts = ['great fun', 'a bore', '']
    with background_server(make_app(folders[1])) as url:
        assert wait_ready(url)['kind'] == 'sequence'
        got = post(url, json={'texts': texts}).json()['results']
    assert got == records(Predictor.from_folder(folders[1]), texts)
    assert set(got[0]) == {'text', 'label', 'score', 'scores'} and set(got[0]['scores']) == {'neg', 'pos'}

BAD = [(b'{"texts": ', 400, "invalid JSON"), (b'\xff\xfe', 400, "invalid JSON"), (b'', 400, "invalid JSON"),
       (b'["a"]', 422, "must be a JSON object, not an array"), (b'{}', 422, "missing field 'texts'"),
       (b'{"texts": "a"}', 422, "must be an array of strings, not a string"), (b'{"texts": null}', 422, "not null"),
       (b'{"texts": []}', 422, "empty"), (b'{"texts": ["a", 3]}', 422, "texts[1] is a number"),
       (b'{"texts": [["a"]]}', 422, "texts[0] is an array"), (b'{"texts": ["\\ud800"]}', 422, "lone surrogate"),
       (json.dumps({'texts': ['a' * 301]}).encode(), 413, "301 characters; at most 300"),
       (json.dumps({'texts': ['a'] * 9}).encode(), 413, "9 texts in one request; at most 8"),
       (b'{"text": ["a"]}', 422, "unknown field 'text'"), (b'{"texts": ["a"], "words": "spaces"}', 422, "words must be one of"),
       (b'{"texts": ["a"], "aggregation": 2}', 422, "aggregation must be one of"),
       (b'{"texts": ["a"]' + b' ' * 40_000 + b'}', 413, "the body passes 32960 bytes")]

@pytest.mark.parametrize('body,status,message', BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_a_4xx_naming_the_problem(server, body, status, message):
    url, _ = server
    r = post(url, content=body, headers={'content-type': 'application/json'})
    assert (r.status_code, message in r.json()['error']) == (status, True), r.text
    assert httpx.get(f"{url}/health").status_code == 200 and post(url, json={'texts': ['Rome']}).status_code == 200

def test_wrong_method_and_path(server):
    url, _ = server
    assert httpx.get(f"{url}/predict").status_code == 405 and httpx.post(f"{url}/nope").status_code == 404

async def one_text_each(url, texts, **kw):
    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=len(texts)), timeout=30) as c:
        return await asyncio.gather(*[c.post('/predict', json={'texts': [t]} | kw) for t in texts])

def test_concurrent_requests_are_batched(folders):
    texts = [f"{t} {i}" for i, t in enumerate(TEXTS[:2] * 12)]
    app = make_app(folders[0], max_batch=64, max_wait_ms=300); ms = app.state.model_server
    with background_server(app) as url:
        wait_ready(url); replies = asyncio.run(one_text_each(url, texts))
        stats = httpx.get(f"{url}/info").json()['stats']
    want = records(Predictor.from_folder(folders[0]), texts) # the same, but for float rounding in batches of other lengths
    assert all(serve_load.score_gap(r.json()['results'][0], w) <= serve_load.SCORE_TOL for r, w in zip(replies, want))
    assert stats['requests'] == 24 and stats['texts'] == 24 and stats['batches'] <= 3, stats # 24 requests, a few batches
    assert sum(ms.batcher.batch_sizes) == 24

def test_batches_are_bounded_and_options_kept_apart(folders):
    app = make_app(folders[0], max_batch=4, max_wait_ms=300); ms = app.state.model_server
    with background_server(app) as url:
        wait_ready(url)
        async def both(): return await asyncio.gather(one_text_each(url, TEXTS[:2] * 5), one_text_each(url, TEXTS[:2] * 2, words='tokenizer'))
        plain, tok = asyncio.run(both())
    assert all(r.status_code == 200 for r in plain + tok)
    assert max(ms.batcher.batch_sizes) <= 4 and sum(ms.batcher.batch_sizes) == 14, ms.batcher.batch_sizes
    want = records(Predictor.from_folder(folders[0], words='tokenizer'), TEXTS[:2])
    assert all(serve_load.score_gap(r.json()['results'][0], want[i % 2]) <= serve_load.SCORE_TOL for i, r in enumerate(tok))

class Troublesome(Predictor):
    "A predictor that is slow on texts saying SLOW and fails on texts saying BOOM."
    def __call__(self, texts):
        if any('BOOM' in t for t in texts): raise ValueError("BOOM is not a text I tag")
        if any('SLOW' in t for t in texts): time.sleep(1.5)
        return super().__call__(texts)

@pytest.fixture(scope='module')
def troubled(folders):
    pred = copy.copy(Predictor.from_folder(folders[0])); pred.__class__ = Troublesome
    with background_server(make_app(pred, limits=Limits(timeout_s=0.5), max_wait_ms=100)) as url:
        wait_ready(url); yield url

def test_timeout_is_504_and_the_server_stays_healthy(troubled):
    t = time.perf_counter(); r = post(troubled, json={'texts': ['SLOW down']})
    assert r.status_code == 504 and 'timed out after 0.5 s' in r.json()['error'] and time.perf_counter() - t < 1.4
    assert httpx.get(f"{troubled}/health").status_code == 200
    time.sleep(1.2) # the slow batch finishes in the inference thread; then the next request is served in time
    assert post(troubled, json={'texts': ['Rome']}).status_code == 200

def test_a_failing_request_does_not_take_its_batch_down(troubled):
    replies = asyncio.run(one_text_each(troubled, ['Rome', 'BOOM', 'Paris']))
    assert [r.status_code for r in replies] == [200, 422, 200]
    assert 'BOOM is not a text I tag' in replies[1].json()['error']
    assert post(troubled, json={'texts': ['Rome']}).status_code == 200

def test_not_ready_until_loaded(folders):
    app = make_app(folders[0]); ms = app.state.model_server; load = ms.load
    ms.load = lambda: (time.sleep(1.0), load()) # a slow load, to look at the server meanwhile
    with background_server(app) as url:
        assert httpx.get(f"{url}/health").status_code == 503 and httpx.get(f"{url}/health").json() == {'status': 'loading'}
        assert httpx.get(f"{url}/info").status_code == 503
        r = post(url, json={'texts': ['Rome']}); assert r.status_code == 503 and 'loading' in r.json()['error']
        wait_ready(url, timeout=30); assert post(url, json={'texts': ['Rome']}).status_code == 200

def test_a_model_that_fails_to_load_stays_503(tmp_path):
    (tmp_path/'ft_nb.json').write_text('{}')
    with background_server(make_app(tmp_path)) as url:
        for _ in range(100):
            if (h := httpx.get(f"{url}/health").json())['status'] != 'loading': break
            time.sleep(0.05)
        assert h['status'] == 'failed' and 'config.json' in h['error'] and post(url, json={'texts': ['a']}).status_code == 503

def test_serve_main_usage_errors(tmp_path, capsys):
    assert serve_main(['--model', str(tmp_path/'nope')]) == 2
    assert 'not a folder written by ft-nb train' in capsys.readouterr().err
    with pytest.raises(SystemExit): serve_main([]) # --model is required

def test_sigterm_drains_in_flight_requests_and_exits(folders, tmp_path):
    port, log = serve_load.free_port(), tmp_path/'server.log'; url = f"http://127.0.0.1:{port}"
    proc = serve_load.start_server(folders[0], port, SimpleNamespace(max_batch=32, max_wait_ms=1500), log)
    try:
        serve_load.wait_healthy(url, proc, timeout=60, log=log)
        answer = {}
        client = threading.Thread(target=lambda: answer.update(r=post(url, json={'texts': TEXTS[:2]}))); client.start()
        time.sleep(0.5); proc.send_signal(signal.SIGTERM); t = time.perf_counter() # the request is waiting in the batcher
        client.join(20); rc = proc.wait(timeout=10); secs = time.perf_counter() - t
    finally:
        if proc.poll() is None: proc.kill()
    assert answer['r'].status_code == 200 and answer['r'].json()['results'] == records(Predictor.from_folder(folders[0]), TEXTS[:2])
    assert rc in (0, -signal.SIGTERM) and secs < 5, (rc, secs) # uvicorn re-raises the signal once it has shut down cleanly
    err = log.read_text(); assert 'Traceback' not in err and 'Finished server process' in err, err[-2000:]

def test_short_load_run(server, folders):
    "200 one-text requests from 32 clients: no errors, the answers of `ft-nb predict`, healthy afterwards."
    url, ms = server
    lines = [TEXTS[i % len(TEXTS)] + f" {i}" for i in range(200)]
    expected = records(Predictor.from_folder(folders[0]), lines)
    before = len(ms.batcher.batch_sizes)
    r = asyncio.run(serve_load.load_level(url, lines, 32, expected, timeout=60))
    assert (r['requests'], r['errors'], r['unanswered'], r['differ'], r['stopped_early']) == (200, 0, 0, 0, False), r
    assert r['p50_ms'] <= r['p95_ms'] <= r['p99_ms'] and len(ms.batcher.batch_sizes) - before < 200 # batched
    checks = serve_load.malformed_and_health(url)
    assert checks['all_4xx'] and checks['healthy_after'], checks

def test_percentile_and_score_gap():
    assert [serve_load.percentile(list(range(1, 101)), q) for q in (50, 95, 99)] == [50, 95, 99]
    a = {'text': 'x', 'entities': [{'label': 'PER', 'score': 0.5}]}
    assert serve_load.score_gap(a, a) == 0 and serve_load.score_gap(a, {'text': 'x', 'entities': []}) == float('inf')
    assert serve_load.score_gap(a, {'text': 'x', 'entities': [{'label': 'PER', 'score': 0.5 + 1e-7}]}) == pytest.approx(1e-7)
