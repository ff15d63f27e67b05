#!/usr/bin/env bash
# Makes the Countdown task's tiny models, seeded and reproducible (issue #20):
#   data/countdown/       train.jsonl / test.jsonl (3 and 4 numbers in turn) and the character tokenizer
#   models/countdown-base   a Qwen2-architecture policy SFT-ed on uniformly random legal traces: it writes legal
#                           steps with right arithmetic and is uncertain which move to make at each fork
#   models/countdown-prior  countdown-base after a plain GRPO run: the frozen experience prior pi_RL of EAPO
# and their held-out accuracies and fork profiles in results/countdown-models/.
# Usage: scripts/make-countdown-models.sh [sft-steps] [grpo-steps]
set -euo pipefail
cd "$(dirname "$0")/.."
SFT_STEPS="${1:-2500}"
GRPO_STEPS="${2:-120}"
JAR=target/eapo-node.jar
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WORK_JAR="$WORK/eapo-node.jar"
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under a long run.
cp "$JAR" "$WORK_JAR"
node() { java -jar "$WORK_JAR" "$@"; }
DATA=(--data data/countdown/train.jsonl --test data/countdown/test.jsonl --task countdown)
OUT=results/countdown-models
mkdir -p "$OUT"

[ -f data/countdown/train.jsonl ] || node synthetic-data --task countdown
node init-model --tokenizer data/countdown/tokenizer --out "$WORK/init" --seed 0
node sft --model "$WORK/init" "${DATA[@]}" --steps "$SFT_STEPS" --prompts-per-step 32 --lr 2e-3 --eval-every 100 \
     --eval-size 200 --seed 0 --out models/countdown-base | tee "$OUT/sft.log"
node train-sync --model models/countdown-base "${DATA[@]}" --steps "$GRPO_STEPS" --prompts-per-step 16 --lr 1e-4 \
     --eval-every 20 --eval-size 400 --seed 0 --out models/countdown-prior --metrics "$OUT/grpo-metrics.jsonl" \
     | tee "$OUT/grpo.log"
for m in countdown-base countdown-prior; do
  node eval --model "models/$m" --data data/countdown/test.jsonl --set eapo.train.task=countdown --fork-profile \
       --out "$OUT/eval-$m" | tee "$OUT/eval-$m.log"
done
