#!/usr/bin/env bash
# Trains the REFRAG model shipped in models/refrag-stories260k-k8 from the shared stories260K decoder and
# all-MiniLM-L6-v2 encoder: an in-domain corpus the decoder samples itself, then reconstruction -> CPT (with LoRA
# adapters on the encoder) -> RL policy with the configs beside this script. Run from anywhere after
# `mvn -B -q install -DskipTests`; CPU, about 35 minutes.
# The configs name the base models by Hugging Face id; the first step puts the shared copies into the local hub cache,
# so the trained refrag.json names them by id too and the folder stays portable.
set -euo pipefail
cd "$(dirname "$0")"
run() { java -Dai.djl.offline=true -jar ../../refrag-bench/target/refrag-bench.jar "$@" --threads 1; }
out=../../models/refrag-stories260k-k8
mkdir -p work
start=$(date +%s)
../../scripts/hf-cache-from-shared.sh
run sample --decoder refrag-java/stories260K --documents 600 --tokens 256 --seed 0 --output work/train.txt
run train reconstruct --config reconstruct.json
run train cpt --config cpt.json
run train policy --config policy.json
cp work/policy/projector.safetensors work/policy/policy.safetensors "$out/"
rm -rf "$out/encoder-adapter" && cp -r work/policy/encoder-adapter "$out/encoder-adapter"
echo "recipe: done in $(( $(date +%s) - start )) s; trained parts copied to $out"
