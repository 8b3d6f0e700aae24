"Data-parallel training on 2 CPU processes through `AccelerateCB`: launched for real, with torchrun and accelerate."
import importlib.util, json, os, shutil, socket, subprocess, sys
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT/'tests'/'scripts'/'train_ddp.py'
spec = importlib.util.spec_from_file_location('train_ddp', SCRIPT); train_ddp = importlib.util.module_from_spec(spec); spec.loader.exec_module(train_ddp)

if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip('this torch has no gloo backend: CPU processes cannot communicate', allow_module_level=True)

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def launch(cmd, out, *args):
    env = os.environ | {'PYTHONPATH': os.pathsep.join(p for p in [str(ROOT), os.environ.get('PYTHONPATH')] if p), 'OMP_NUM_THREADS': '1',
                        'CUDA_VISIBLE_DEVICES': ''} # gloo on CPU processes, even on a machine with one GPU (which 2 NCCL ranks cannot share)
    try: res = subprocess.run([*cmd, str(SCRIPT), str(out), *args], env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    except OSError as e: pytest.skip(f'cannot spawn processes: {e}')
    assert res.returncode == 0, res.stderr[-4000:]
    ranks = sorted(out.glob('rank*.json'))
    return [json.loads(f.read_text()) for f in ranks], [load_file(f.with_suffix('.safetensors')) for f in ranks]

def full_valid_accuracy(state):
    "The token accuracy of weights `state` over the whole validation set, in this one process."
    model = train_ddp.token_classifier(['a', 'b', 'c'], train_ddp.encoder_from_config(train_ddp.BertConfig(
        vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=32)))
    model.load_state_dict(state); model.eval()
    m, fake = train_ddp.TokenAccuracy(), type('L', (), {})()
    m.reset()
    with torch.inference_mode():
        for b in train_ddp.make_loader(train_ddp.synthetic_items(64, seed=1), 0, 64, shuffle=False):
            fake.labels, fake.preds = b['labels'], model(**b); m.update(fake)
    return m.compute()['accuracy']

def check_two_ranks(res, weights):
    assert [r['num_processes'] for r in res] == [2, 2] and [r['rank'] for r in res] == [0, 1]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), 'the ranks ended with different weights'
    assert res[0]['history'] == res[1]['history'], 'the metrics differ between ranks'
    assert [r['valid_count'] for r in res] == [64, 64], 'the validation loss did not count both ranks'
    assert res[0]['history'][-1]['accuracy'] == full_valid_accuracy(weights[0])
    assert 0.5 < res[0]['history'][-1]['accuracy'] < 1 # neither untrained nor saturated: the comparison means something
    for e in range(len(res[0]['seen'])):
        a, b = (set(r['seen'][e]) for r in res)
        assert not a & b, f'epoch {e}: the ranks trained on the same sentences'
        assert sorted(a | b) == list(range(256)) and len(res[0]['seen'][e]) + len(res[1]['seen'][e]) == 256

def test_torchrun_two_cpu_processes(tmp_path):
    res, weights = launch([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                           '--master_addr', '127.0.0.1', '--master_port', str(free_port())], tmp_path)
    check_two_ranks(res, weights)

def test_torchrun_accumulation_and_fp16(tmp_path):
    "Accumulation (weights and window totals averaged over the processes) and a float16 gradient scaler, on 2 processes."
    res, weights = launch([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
                           '--master_port', str(free_port())], tmp_path, '--n_acc', '2', '--precision', 'fp16', '--lr', '1e-3')
    assert [r['num_processes'] for r in res] == [2, 2]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), 'the ranks ended with different weights'
    assert res[0]['history'] == res[1]['history']
    assert [r['steps'] for r in res] == [16, 16] # 16 batches per rank and epoch, 2 per step, 2 epochs
    h = res[0]['history']
    assert h[-1]['valid_loss'] < h[0]['valid_loss'] < h[0]['train_loss'], h # it trained (no step lost to a broken scaler)

@pytest.mark.skipif(shutil.which('accelerate') is None, reason='no accelerate command')
def test_accelerate_launch(tmp_path):
    res, weights = launch(['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
                           '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_port', str(free_port())], tmp_path/'multi')
    check_two_ranks(res, weights)
    # `--cpu` without an MPI host file starts one process, whatever --num_processes says (Accelerate 1.x)
    res, _ = launch(['accelerate', 'launch', '--cpu', '--num_processes', '2', '--num_machines', '1',
                     '--mixed_precision', 'no', '--dynamo_backend', 'no'], tmp_path/'cpu')
    assert [r['num_processes'] for r in res] == [1]
