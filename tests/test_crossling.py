"Cross-lingual work: the embeddings setting through a whole run (sparse rows saved as a standard folder, resumed exactly), map_types, multi-file eval."
import contextlib, io, json, warnings
from dataclasses import replace
from pathlib import Path
import pytest
import torch
import safetensors.torch
from conftest import TAGGED, conll

VOCAB = 5000 # rows of the tiny encoder's table: far more than its tokenizer uses, as in XLM-R's


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A tiny XLM-R-like encoder folder with a large-ish vocabulary, and a small NER data set with MISC."
    from ft_nb.testing import tiny_model_dir
    d = tmp_path_factory.mktemp('crossling')
    torch.manual_seed(0); tiny_model_dir(d/'tiny', 'xlm-roberta', vocab_size=VOCAB)
    for split in ('train', 'valid'): (d/f'{split}.conll').write_text(conll(TAGGED * 4))
    return d

def config(work, out, **kw):
    from ft_nb.config import TrainConfig
    return TrainConfig(**dict(train=str(work/'train.conll'), valid=str(work/'valid.conll'), model=str(work/'tiny'), bs=4, lr=1e-3,
                              epochs=2, patience=10, out=str(out), weight_decay=0., max_norm=1e9) | kw) # no decay, no clipping: sparse = full, exactly

def quiet(f, *args, **kw):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings(): warnings.simplefilter('ignore'); result = f(*args, **kw)
    return result, out.getvalue()

def train(cfg, stop_after:int|None=None):
    "`fine_tune` with the hook `build_learner` will have (`apply_embeddings` after the Learner is built, before resuming); the banner."
    from ft_nb.train import build_learner, resume_run, finish_run, start_banner
    from ft_nb.embeddings import apply_embeddings
    from ft_nb.learner import Callback, CancelFitException
    torch.set_num_threads(1)
    learn = build_learner(replace(cfg, resume=None), trains=not cfg.resume); apply_embeddings(learn, cfg)
    if cfg.resume: learn.run.resumed = resume_run(learn, cfg)
    banner = start_banner(learn.run.task, learn, learn.run.splits, learn.run.out)
    class Stop(Callback):
        order = 100
        def after_epoch(self, learn):
            if not learn.training and learn.epoch + 1 == stop_after: raise CancelFitException
    learn.fit(cfg.epochs, cbs=[Stop()] if stop_after else None)
    return (learn, banner) if stop_after else (finish_run(learn), learn, banner)

def table(folder:Path)->torch.Tensor:
    return next(v for k, v in safetensors.torch.load_file(folder/'model.safetensors').items() if k.endswith('embeddings.word_embeddings.weight'))

@pytest.fixture(scope='module')
def runs(work):
    "The same run with the word embeddings frozen, trained in full and sparsely."
    # frozen first: the first fit of a process differs slightly from later identical ones (a warm-up), so it is not compared
    return {mode: quiet(train, config(work, work/mode, embeddings=mode))[0] for mode in ('freeze', 'train', 'sparse')}

def test_sparse_saves_a_standard_folder_equal_to_full_training(work, runs):
    from transformers import AutoModelForTokenClassification
    start, full, sparse = table(work/'tiny'), table(work/'train'), table(work/'sparse')
    changed = (full != start).any(1)
    assert 0 < changed.sum() < VOCAB // 10 # only the rows the data uses move, even in full training (no weight decay)
    torch.testing.assert_close(sparse, full, atol=1e-5, rtol=0)
    assert not any('rows' in k for k in safetensors.torch.load_file(work/'sparse'/'model.safetensors'))
    hf = AutoModelForTokenClassification.from_pretrained(work/'sparse') # a standard Hugging Face folder
    torch.testing.assert_close(hf.get_input_embeddings().weight.detach(), sparse)
    assert runs['sparse'][0]['valid']['f1'] == pytest.approx(runs['train'][0]['valid']['f1'], abs=1e-6)

def test_freeze_keeps_the_table(work, runs):
    torch.testing.assert_close(table(work/'freeze'), table(work/'tiny'), atol=0, rtol=0)
    learn = runs['freeze'][1]
    assert not learn.model.encoder.get_input_embeddings().weight.requires_grad

def test_banner_says_what_trains(runs):
    assert 'embed    sparse: the ' in runs['sparse'][2] and 'rows of tokens in the training data train' in runs['sparse'][2]
    assert 'frozen' in runs['freeze'][2]

def test_auto_is_full_training_for_a_small_vocabulary(work):
    from types import SimpleNamespace
    from ft_nb.train import build_learner
    from ft_nb.embeddings import apply_embeddings, SPARSE_ABOVE
    learn = quiet(build_learner, config(work, work/'auto'), trains=False)[0]
    assert VOCAB <= SPARSE_ABOVE and apply_embeddings(learn, SimpleNamespace(embeddings='auto'))[0] == 'train'

def test_sparse_run_resumes_exactly(work, runs):
    "Stopped after epoch 1 and resumed from its checkpoint, a sparse run ends where the uninterrupted one did."
    cfg = config(work, work/'resumed', embeddings='sparse')
    quiet(train, cfg, stop_after=1)
    results, learn, banner = quiet(train, replace(cfg, resume=str(work/'resumed')))[0]
    assert 'resuming' in banner
    torch.testing.assert_close(table(work/'resumed'), table(work/'sparse'), atol=1e-6, rtol=0)
    assert [r['f1'] for r in results['history']] == [r['f1'] for r in runs['sparse'][0]['history']]

def test_map_types_through_train_and_eval(work):
    from ft_nb.cli import main
    results, learn, banner = quiet(train, config(work, work/'mapped', epochs=1, map_types='MISC=O'))[0]
    assert 'B-MISC' not in results['labels']
    assert 'types    MISC=O: train.conll: 4 MISC dropped; valid.conll: 4 MISC dropped' in banner
    out = io.StringIO()
    with contextlib.redirect_stdout(out): assert main(['eval', '--model', str(work/'mapped'), '--data', str(work/'valid.conll')]) == 0
    assert 'dropped {\'MISC\': 4}' in out.getvalue() # the saved config's map_types, applied as eval reads: no unknown tag
    err = io.StringIO()
    with contextlib.redirect_stderr(err): assert main(['train', '--model', str(work/'tiny'), '--train', str(work/'train.conll'), '--valid',
                                                      str(work/'valid.conll'), '--map-types', 'MISC', '--out', str(work/'bad')]) == 2
    assert "map_types: 'MISC' in 'MISC' is not OLD=NEW" in err.getvalue()

def test_eval_several_files_one_table(work, runs):
    from ft_nb.cli import main
    (work/'u.iob2').write_text("# sent_id = 1\n1\tPeter\tB-PER\t-\t-\n2\tsaw\tO\t-\t-\n3\tEU\tB-OTH\t-\t-\n\n")
    def run(*args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out): code = main(['eval', '--model', str(work/'train'), *args])
        return code, out.getvalue()
    code, text = run('--data', str(work/'valid.conll'), str(work/'u.iob2'))
    assert code == 0 and text.splitlines()[0].split() == ['data', 'sentences', 'strict', 'F1', 'lenient', 'F1']
    assert 'gold types the model lacks, counted as O: OTH ×1' in text and text.splitlines()[3].startswith('mean')
    code, text = run('--data', str(work/'valid.conll'), str(work/'u.iob2'), '--json')
    rows = json.loads(text)
    assert [(r['sentences'], r['counted_as_o']) for r in rows] == [(12, {}), (1, {'OTH': 1})]
    assert rows[0]['f1'] == pytest.approx(runs['train'][0]['valid']['f1'])

def test_eval_rows_explain_their_scores(work, runs):
    "Each row's errors and shapes add up to its strict counts; `--map-types MISC=O` drops MISC from the predictions as well as the gold."
    from ft_nb.cli import main
    (work/'v.iob2').write_text("# sent_id = 1\n1\tPeter\tB-PER\t-\t-\n2\tsaw\tO\t-\t-\n3\tParis\tB-LOC\t-\t-\n\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(['eval', '--model', str(work/'train'), '--data', str(work/'valid.conll'), str(work/'v.iob2'), '--json', '--map-types', 'MISC=O']) == 0
    for r in json.loads(out.getvalue()):
        micro, errors, shapes = r['scores']['report']['micro avg'], r['errors'], r['shapes'].values()
        assert 'MISC' not in r['scores']['report'] and 'MISC' not in r['predicted_only']
        assert micro['predicted'] - micro['correct'] == errors.get('wrong type', 0) + errors.get('wrong boundary', 0) + errors.get('false positive', 0)
        assert [sum(s[k] for s in shapes) for k in ('support', 'predicted', 'correct')] == [micro['support'], micro['predicted'], micro['correct']]
