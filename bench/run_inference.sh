#!/usr/bin/env bash
# The acceptance run of issue 19: bench/inference.py on the CoNLL-2003 MiniLM, whole processes included.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD
model=${1:?usage: bash bench/run_inference.sh MODEL_DIR (an ft-nb NER model, e.g. MiniLM fine-tuned on CoNLL-2003)}
[ -f "$model/model.safetensors" ] || { echo "$model: no model.safetensors (give the folder of a model saved by ft-nb train)" >&2; exit 2; }
python bench/inference.py --model "$model" --n 2000 --repeat 2 --whole 10000 --out bench/results/inference.json 2>&1 | grep -v '^W1201\|torchvision' | tee bench/results/inference.log
