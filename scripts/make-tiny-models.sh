#!/usr/bin/env bash
# Makes the embedded default's tiny models, seeded and reproducible:
#   models/tiny-base   a Qwen2-architecture policy SFT-ed on the synthetic task to a modest held-out accuracy
#   models/tiny-prior  tiny-base after a plain GRPO run: the frozen experience prior pi_RL of EAPO
# Usage: scripts/make-tiny-models.sh [sft-steps] [grpo-steps]
set -euo pipefail
cd "$(dirname "$0")/.."
SFT_STEPS="${1:-1000}"
GRPO_STEPS="${2:-120}"
JAR=target/eapo-node.jar
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WORK_JAR="$WORK/eapo-node.jar"
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under a long run.
cp "$JAR" "$WORK_JAR"
node() { java -jar "$WORK_JAR" "$@"; }

[ -f data/synthetic/train.jsonl ] || node synthetic-data
node init-model --tokenizer data/synthetic/tokenizer --out "$WORK/init" --seed 0
node sft --model "$WORK/init" --steps "$SFT_STEPS" --prompts-per-step 32 --lr 2e-3 --eval-every 100 --eval-size 200 \
     --seed 0 --out models/tiny-base | tee "$WORK/sft.log"
node train-sync --model models/tiny-base --steps "$GRPO_STEPS" --prompts-per-step 16 --lr 1e-4 --eval-every 20 \
     --eval-size 400 --seed 0 --out models/tiny-prior --metrics "$WORK/grpo-metrics.jsonl" | tee "$WORK/grpo.log"
mkdir -p results/tiny-models
cp "$WORK/sft.log" "$WORK/grpo.log" "$WORK/grpo-metrics.jsonl" results/tiny-models/
