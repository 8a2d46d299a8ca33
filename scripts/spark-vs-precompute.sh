#!/usr/bin/env bash
# Encodes one corpus three ways, one after the other, each into a new store or cache, and prints them side by side:
# the single-machine precompute command, then the Spark job in local[1] and local[2] (the local launcher). Rates are
# the corpus's distinct chunks over each command's whole wall time (JVM, Spark and model start included).
# Usage: scripts/spark-vs-precompute.sh [CORPUS] [MODEL]  (defaults: ../shared/data/corpus_medium.txt, the shipped
# model). Needs the build and the hub cache (the README's first command).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${1:-$root/../shared/data/corpus_medium.txt}"
model="${2:-$root/models/refrag-stories260k-k8}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$model" "$work/model" # precompute writes its cache into the folder it is given
now() { date +%s.%N; }

t0=$(now)
java -Dai.djl.offline=true -jar "$root/refrag-bench/target/refrag-bench.jar" precompute --model "$work/model" \
  --corpus "$corpus" > /dev/null 2>&1
t1=$(now)
seconds=("$(echo "$t1 - $t0" | bc)")
for master in 'local[1]' 'local[2]'; do
  t0=$(now)
  line=$(java -jar "$root/refrag-spark/target/refrag-spark-local.jar" --master "$master" --model "$model" \
    --corpus "$corpus" --store "$work/store-$master" 2>/dev/null)
  t1=$(now)
  seconds+=("$(echo "$t1 - $t0" | bc)")
done
distinct=$(echo "$line" | sed -E 's/.* ([0-9]+) distinct chunks.*/\1/')
echo "$(basename "$corpus"): $distinct distinct chunks"
names=(precompute 'local[1]' 'local[2]')
for i in 0 1 2; do
  printf '%-12s %6.1f s wall, %6.1f chunks/s\n' "${names[$i]}" "${seconds[$i]}" "$(echo "$distinct / ${seconds[$i]}" | bc -l)"
done
bytes=$(du -cb "$work/store-local[2]/segments/"*.safetensors | tail -1 | cut -f1)
printf 'store: %d bytes in segments, %.0f bytes per chunk\n' "$bytes" "$(echo "$bytes / $distinct" | bc -l)"
