#!/usr/bin/env bash
# LoRA against full fine-tuning on the embedded task (issue #17): EAPO from the committed tiny base and prior,
# the same seeds and budget, once training every weight and once rank-16 adapters on the frozen base. Each run
# is an `eapo-node train` run in results/lora/<name>-s<seed>/ (a finished one is skipped); then `results` writes
# results/lora/summary.md with held-out accuracy before and after, and seconds per step.
#
# Usage: scripts/lora-vs-full.sh [--steps 60] [--eval-every 20] [--seeds "0"] [--rank 16] [--lora-lr 5e-4]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=60; EVAL_EVERY=20; SEEDS="0"; RANK=16; LORA_LR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --eval-every) EVAL_EVERY="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --rank) RANK="$2"; shift 2 ;;
    --lora-lr) LORA_LR="--lr $2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=results/lora
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$JAR" "$WORK/eapo-node.jar"
mkdir -p "$OUT"
run() { # name flags seed
  local dir="$OUT/$1-s$3"
  if [ -f "$dir/summary.json" ] && grep -q heldout_accuracy_after "$dir/summary.json"; then
    echo "== $1 seed $3: done, skipped"; return
  fi
  echo "== $1 seed $3"
  # shellcheck disable=SC2086
  java -jar "$WORK/eapo-node.jar" train --steps "$STEPS" --eval-every "$EVAL_EVERY" --seed "$3" --port 0 \
      --results-dir "$OUT" --run-id "$1-s$3" $2 > "$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
  grep -E "held-out|wrote" "$WORK/run.log" | tr '\r' '\n' | grep -E "^held-out|^wrote" || true
}
for seed in $SEEDS; do
  run eapo-full "" "$seed"
  run "eapo-lora-r$RANK" "--lora-rank $RANK $LORA_LR" "$seed"
done
java -jar "$WORK/eapo-node.jar" results --dir "$OUT" --figure "lora=eapo-full,eapo-lora-r$RANK"
