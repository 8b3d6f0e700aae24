#!/usr/bin/env bash
# A second, shorter run (issue 19): the int8 schemes that keep F1, against eager and ONNX Runtime, no whole processes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD
model=${1:?usage: bash bench/run_int8.sh MODEL_DIR (an ft-nb NER model, e.g. MiniLM fine-tuned on CoNLL-2003)}
[ -f "$model/model.safetensors" ] || { echo "$model: no model.safetensors (give the folder of a model saved by ft-nb train)" >&2; exit 2; }
python -u bench/inference.py --model "$model" --n 2000 --repeat 2 --no-cache-check --variants eager_fastlinear,eager,onnx_fused,int8_channel_cls,int8_channel_cls_ffnout,int8_channel_cls_outs,ort_int8_channel \
  --out bench/results/inference_int8.json > bench/results/inference_int8.log 2>&1
