#!/usr/bin/env bash
# Makes the Countdown task's tiny models, seeded and reproducible (issue #20):
#   data/countdown/       train.jsonl / test.jsonl (3 and 4 numbers in turn) and the character tokenizer
#   models/countdown-base   a Qwen2-architecture policy SFT-ed on uniformly random legal traces: it writes legal
#                           steps with right arithmetic and is uncertain which move to make at each fork
#   models/countdown-prior  an expert, as the expert-assisted EAPO paper uses: countdown-base fine-tuned further on
#                           target-reaching traces (the same kind of data, other batches); the frozen prior of EAPO.
#                           (countdown-base after 120-200 plain GRPO steps reached only 13-15% greedy: too weak a
#                           prior to show what a better one's choices at forks do; see README.)
# and their held-out accuracies and fork profiles in results/countdown-models/.
# Usage: scripts/make-countdown-models.sh [sft-steps] [expert-steps]
set -euo pipefail
cd "$(dirname "$0")/.."
SFT_STEPS="${1:-2500}"
EXPERT_STEPS="${2:-2500}"
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
node sft --model models/countdown-base "${DATA[@]}" --steps "$EXPERT_STEPS" --prompts-per-step 32 --lr 2e-3 \
     --eval-every 250 --eval-size 200 --seed 1 --out models/countdown-prior | tee "$OUT/expert-sft.log"
for m in countdown-base countdown-prior; do
  node eval --model "models/$m" --data data/countdown/test.jsonl --set eapo.train.task=countdown --fork-profile \
       --out "$OUT/eval-$m" | tee "$OUT/eval-$m.log"
done
