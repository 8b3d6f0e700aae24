"`ft-nb export` and the Predictor's ONNX Runtime and compiled backends, on tiny random models: ORT's logits against torch's, int8's F1 check."
import contextlib, io, json, os, subprocess, sys
import numpy as np
import pytest
from conftest import ROOT

ort = pytest.importorskip('onnxruntime'); pytest.importorskip('onnx'); pytest.importorskip('onnxscript')
import torch
from ft_nb.cli import main
from ft_nb.core import set_seed
from ft_nb.data.conll import write_conll
from ft_nb.data.core import Sentence
from ft_nb.export import export_onnx, onnx_session, ONNX_FILE, ONNX_INT8_FILE
from ft_nb.inference import Predictor
from ft_nb.models import token_classifier, sequence_classifier, encoder_from_config, save_model, load_model
from ft_nb.testing import tiny_tokenizer, tiny_config

LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
TEXTS = ["Peter Blackburn flew to Rome", "German advice to consumers", "", "O'Brien met Anne-Gaelle in Chester-le-Street " * 3]

def run_main(argv):
    "`main(argv)`'s exit code, standard output and standard error."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()

@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    "A tiny random tagger (biased to find entities) and its ONNX export by `ft-nb export --int8`, and a labelled file of its own tags."
    set_seed(0); d = tmp_path_factory.mktemp('export'); tok = tiny_tokenizer('bert')
    os.environ['FT_NB_CACHE'] = str(d/'cache')
    model = token_classifier(LABELS, encoder_from_config(tiny_config('bert', tok))).eval()
    with torch.no_grad(): model.heads['ner'].classifier.bias[1:] += 2.
    save_model(model, d/'ner', tok, max_len=32)
    code, out, err = run_main(['export', '--model', d/'ner', '--onnx', '--int8', '--out', d/'ner-onnx'])
    assert code == 0, err
    words = [t.split() for t in TEXTS if t.strip()]
    gold = [Sentence(w, [t for t, _ in tw]) for w, tw in zip(words, Predictor.from_folder(d/'ner', fast=False).tag_words(words))]
    write_conll(gold, d/'gold.conll')
    yield d, out
    os.environ.pop('FT_NB_CACHE', None)

def feed(sess, ids, mask):
    names = [i.name for i in sess.get_inputs()]
    return {k: v.numpy() for k, v in dict(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).items() if k in names}

def test_export_folder_runs_in_onnx_runtime(folders):
    d, out = folders
    assert out.startswith(f"wrote {ONNX_FILE}, {ONNX_INT8_FILE} to {d/'ner-onnx'}")
    files = {f.name for f in (d/'ner-onnx').iterdir()}
    assert {ONNX_FILE, ONNX_INT8_FILE, 'export.json', 'ft_nb.json', 'config.json', 'tokenizer.json', 'model.safetensors'} <= files
    info = json.loads((d/'ner-onnx'/'export.json').read_text())
    assert info['inputs'] == ['input_ids', 'attention_mask', 'token_type_ids'] and info['labels'] == LABELS and info['max_logit_gap'] < 1e-4
    model, sess = load_model(d/'ner'), ort.InferenceSession(str(d/'ner-onnx'/ONNX_FILE), providers=['CPUExecutionProvider'])
    for shape in [(1, 2), (4, 9), (3, 57)]: # batch sizes and lengths it was not traced at, padding included
        ids = torch.randint(5, 60, shape); mask = torch.ones_like(ids); mask[0, shape[1] // 2:] = 0
        with torch.no_grad(): ref = model(ids, mask)['logits'].numpy()
        np.testing.assert_allclose(sess.run(['logits'], feed(sess, ids, mask))[0], ref, atol=1e-4)
    q = ort.InferenceSession(str(d/'ner-onnx'/ONNX_INT8_FILE), providers=['CPUExecutionProvider'])
    assert q.run(['logits'], feed(q, ids, mask))[0].shape == ref.shape

def test_other_heads_and_architectures(tmp_path):
    "A tokenizer without token types (RoBERTa) gives a graph without them; a sequence head's logits are [batch, classes]."
    set_seed(1); rtok, tok = tiny_tokenizer('roberta'), tiny_tokenizer('bert')
    for name, model, t in [('roberta', token_classifier(['O', 'B-X'], encoder_from_config(tiny_config('roberta', rtok))), rtok),
                           ('cls', sequence_classifier(['neg', 'pos', 'mid'], encoder_from_config(tiny_config('bert', tok)), pooling='mean'), tok)]:
        model.eval(); sess = onnx_session(export_onnx(model, t, tmp_path/f'{name}.onnx'))
        ids = torch.randint(5, 60, (3, 7)); mask = torch.ones_like(ids); mask[2, 4:] = 0
        with torch.no_grad(): ref = model(ids, mask)['logits'].numpy()
        got = sess.run(['logits'], feed(sess, ids, mask))[0]
        assert got.shape == ref.shape; np.testing.assert_allclose(got, ref, atol=1e-4)
    assert [i.name for i in onnx_session(tmp_path/'roberta.onnx').get_inputs()] == ['input_ids', 'attention_mask']

def test_predict_backend_onnx_matches_eager(folders, tmp_path):
    d, _ = folders
    src = tmp_path/'in.txt'; src.write_text('\n'.join(TEXTS) + '\n', encoding='utf-8')
    lines = {}
    for name, model, flags in [('eager', d/'ner', []), ('onnx', d/'ner-onnx', ['--backend', 'onnx']), ('onnx_cached', d/'ner', ['--backend', 'onnx'])]:
        code, out, err = run_main(['predict', '--model', model, '--input', src, *flags]); assert code == 0, err
        lines[name] = [json.loads(l) for l in out.splitlines()]
    strip = lambda recs: [[(e['label'], e['start'], e['end']) for e in r['entities']] for r in recs]
    assert strip(lines['onnx']) == strip(lines['eager']) == strip(lines['onnx_cached']) and sum(map(len, strip(lines['eager']))) > 0
    for a, b in zip(lines['onnx'], lines['eager']):
        np.testing.assert_allclose([e['score'] for e in a['entities']], [e['score'] for e in b['entities']], atol=1e-4)

def test_int8_f1_check_refuses_and_passes(folders, tmp_path):
    d, _ = folders
    src = tmp_path/'in.txt'; src.write_text('Peter Blackburn flew to Rome\n', encoding='utf-8')
    code, out, err = run_main(['predict', '--model', d/'ner', '--input', src, '--int8', '--data', d/'gold.conll', '--max-drop', '-1'])
    assert code == 2 and out == '' and err.count('\n') == 1
    assert 'int8 refused: strict F1' in err and 'in float32, a drop of' in err and '> --max-drop -1' in err
    code, out, err = run_main(['predict', '--model', d/'ner', '--input', src, '--int8', '--data', d/'gold.conll', '--max-drop', '1'])
    assert code == 0 and len(out.splitlines()) == 1, err
    code, _, err = run_main(['export', '--model', d/'ner', '--int8', '--data', d/'gold.conll', '--max-drop', '-1', '--out', tmp_path/'refused'])
    assert code == 2 and 'int8 refused' in err and not (tmp_path/'refused').exists()
    code, _, err = run_main(['predict', '--model', d/'ner', '--input', src, '--data', d/'gold.conll'])
    assert code == 2 and 'add --int8' in err

def test_cli_stays_light():
    "`ft-nb --help` lists export without loading torch or ONNX."
    code = "import sys; from ft_nb.cli import parser; parser().parse_args(['export', '--model', 'm', '--out', 'o']); " \
           "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'onnxscript') if m in sys.modules))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=os.environ | {'PYTHONPATH': str(ROOT)})
    assert r.stdout.strip() == '[]', r.stderr

@pytest.mark.slow
def test_compile_backend_matches_eager(folders):
    "torch.compile (inductor, freezing, dynamic shapes): the same tags as eager; slow (a cold compile takes a minute on 2 cores)."
    d, _ = folders
    eager, comp = Predictor.from_folder(d/'ner', fast=False), Predictor.from_folder(d/'ner', backend='compile')
    texts = TEXTS * 80 # enough items for the compiled path to pay (`COMPILE_MIN_ITEMS`)
    strip = lambda res: [[(e['label'], e['start'], e['end']) for e in ents] for ents in res]
    assert strip(comp(texts)) == strip(eager(texts)) and comp._runner is not None

def test_serve_onnx_backend(folders):
    "`ft-nb serve --backend onnx` answers what the eager server answers (its session opened while loading)."
    pytest.importorskip('httpx'); pytest.importorskip('fastapi'); pytest.importorskip('uvicorn')
    import httpx
    from ft_nb.serve import background_server, make_app, wait_ready
    d, _ = folders
    answers = {}
    for backend in ('eager', 'onnx'):
        app = make_app(d/'ner', backend=backend)
        with background_server(app) as url:
            wait_ready(url); answers[backend] = httpx.post(f"{url}/predict", json={'texts': TEXTS}, timeout=30).json()['results']
        assert backend == 'eager' or app.state.model_server.pred._runner is not None
    strip = lambda recs: [[(e['label'], e['start'], e['end']) for e in r['entities']] for r in recs]
    assert strip(answers['onnx']) == strip(answers['eager'])
