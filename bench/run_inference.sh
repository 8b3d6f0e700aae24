#!/usr/bin/env bash
# The acceptance run of issue 19 (through the heavy queue): bench/inference.py on the CoNLL-2003 MiniLM, whole processes included.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD
model=${1:-/work/models/conll-minilm}
while [ ! -f "$model/model.safetensors" ]; do sleep 20; done
python bench/inference.py --model "$model" --n 2000 --repeat 2 --whole 10000 --out bench/results/inference.json 2>&1 | grep -v '^W1201\|torchvision' | tee bench/results/inference.log
