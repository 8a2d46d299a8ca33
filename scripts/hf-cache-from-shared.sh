#!/usr/bin/env bash
# Puts the base models the shipped REFRAG folder names by Hugging Face id into the local Hugging Face cache, from the
# copies in ../shared/models (this workplace has no hub access): stories260K as refrag-java/stories260K (its HF-format
# conversion, see ../shared/models/stories260K/PROVENANCE.md) and all-MiniLM-L6-v2 as
# sentence-transformers/all-MiniLM-L6-v2. Idempotent. Needs the build (mvn -B -q install -DskipTests).
# The cache is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub, as for every HF tool.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${REFRAG_SHARED_MODELS:-$root/../shared/models}"
run() { java -Dai.djl.offline=true -jar "$root/refrag-bench/target/refrag-bench.jar" "$@"; }
run hub-import --from "$shared/stories260K" --id refrag-java/stories260K
run hub-import --from "$shared/all-MiniLM-L6-v2" --id sentence-transformers/all-MiniLM-L6-v2
