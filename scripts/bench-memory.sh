#!/usr/bin/env bash
# The memory measurements of README "Memory": resident memory against the analytic budget.
#   tiny     the embedded default (tiny models, 60 steps, evaluations every 20): results/bench-memory-tiny.json
#   0.5b     Qwen2.5-0.5B's shape with random weights and the real Qwen tokenizer, full-parameter EAPO with the
#            same checkpoint as prior, every role in one JVM, GSM8K prompts (qwen-chat), 2 questions x 4
#            responses, 128 new tokens, layers recomputed in the backward pass, logits 16 positions at a time,
#            3 learner steps (about 12 minutes): results/bench-memory-0.5b.json
#   lora-0.5b  the same with LoRA rank 16 on the frozen base, the prior that base (shared):
#            results/bench-memory-lora-0.5b.json
#   lora-1.5b  Qwen2.5-Math-1.5B's shape likewise with LoRA rank 16, 2 learner steps (about 25 minutes):
#            results/bench-memory-lora-1.5b.json
#   budgets  Qwen2.5-Math-7B and Qwen3-8B per role on one 80 GB GPU, from the budget alone: full-parameter fp32,
#            and LoRA rank 16 with float16 frozen weights: results/memory/budget-7b-8b.txt
# Usage: scripts/bench-memory.sh [tiny|0.5b|lora-0.5b|lora-1.5b|budgets ...]   (default: tiny 0.5b budgets)
# JAR=path runs another build of the jar (a copy, so that rebuilding target/ meanwhile does not disturb a run).
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=${JAR:-target/eapo-node.jar}
[ -f "$JAR" ] || mvn -q -B -DskipTests package
SHAPES=../shared/shapes
MODELS=build/shapes
GSM8K=../shared/data/gsm8k-test.jsonl
MATH500=../shared/data/math500-test.jsonl
bash scripts/fetch-qwen-tokenizer.sh >/dev/null

# Each measurement starts afresh: train resumes a run whose --run-id it finds, which would measure nothing.
tiny() {
  rm -rf results/bench-memory-tiny
  java -jar "$JAR" bench memory --run-id bench-memory-tiny --out results/bench-memory-tiny.json --label "tiny demo"
}

# EAPO on a real shape, every role in one JVM, the prior the same checkpoint:
# shape_run NAME SHAPE STEPS LORA_RANK LABEL [more train options]
shape_run() {
  local name=$1 shape=$2 steps=$3 rank=$4 label=$5
  shift 5
  rm -rf "results/bench-memory-$name"
  [ -f "$MODELS/$shape/config.json" ] || java -jar "$JAR" init-model --like "$SHAPES/$shape" \
      --tokenizer build/qwen-tokenizer --out "$MODELS/$shape"
  java -jar "$JAR" bench memory --model "$MODELS/$shape" --prior "$MODELS/$shape" \
      --data "$GSM8K" --test "$GSM8K" --eval-size 0 --steps "$steps" --questions-per-step 2 \
      --set eapo.model.lora.rank="$rank" \
      --set eapo.data.prompt-template=qwen-chat --set eapo.algorithm.group-size=4 \
      --set eapo.rollout.max-new-tokens=128 --set eapo.memory.learner-micro-batch-tokens=384 \
      --set eapo.rollout.decode-batch-size=8 --set eapo.pipeline.max-sequences-in-flight=8 \
      --run-id "bench-memory-$name" --out "results/bench-memory-$name.json" --label "$label" "$@"
}

budgets() {
  mkdir -p results/memory
  : > results/memory/budget-7b-8b.txt
  for shape in qwen2.5-math-7b qwen3-8b; do
    # The budget needs the shape and the tokenizer only: no weights.
    mkdir -p "$MODELS/$shape-config"
    cp "$SHAPES/$shape/config.json" build/qwen-tokenizer/* "$MODELS/$shape-config/"
    for setting in "learner 64 0 float32" "sampler 64 0 float32" "prior 64 0 float32" "sampler 32 0 float32" \
        "prior 32 0 float32" "learner 64 16 float16" "sampler 64 16 float16" "prior 64 0 float16"; do
      set -- $setting
      echo "== $shape, $1, decode batch / sequences in flight $2, LoRA rank $3 (0: full), $4" \
          >> results/memory/budget-7b-8b.txt
      java -jar "$JAR" bench memory --budget-only --model "$MODELS/$shape-config" --prior "$MODELS/$shape-config" \
          --data "$MATH500" --test "$MATH500" --set eapo.data.prompt-template=boxed \
          --set eapo.rollout.max-new-tokens=3000 --set eapo.memory.learner-micro-batch-tokens=4096 \
          --set "eapo.node.roles=[$1]" --set eapo.rollout.decode-batch-size=$2 \
          --set eapo.pipeline.max-sequences-in-flight=$2 --set eapo.model.lora.rank=$3 --set eapo.model.dtype=$4 --device gpu:0 \
          --set eapo.memory.limit=80GiB --set eapo.memory.max-share=1.0 2>/dev/null >> results/memory/budget-7b-8b.txt
    done
  done
  cat results/memory/budget-7b-8b.txt
}

for what in "${@:-tiny 0.5b budgets}"; do
  for w in $what; do
    case "$w" in
      tiny) tiny ;;
      0.5b) shape_run 0.5b qwen2.5-0.5b 3 0 \
          "Qwen2.5-0.5B shape, full-parameter EAPO, all roles in one JVM, layers recomputed in the backward pass" \
          --set eapo.memory.recompute-layers=on --set eapo.memory.logits-chunk-positions=16 ;;
      lora-0.5b) shape_run lora-0.5b qwen2.5-0.5b 3 16 \
          "Qwen2.5-0.5B shape, LoRA rank 16 EAPO, prior = the shared base, all roles in one JVM, layers recomputed" \
          --set eapo.memory.recompute-layers=on --set eapo.memory.logits-chunk-positions=16 ;;
      lora-1.5b) shape_run lora-1.5b qwen2.5-math-1.5b 2 16 \
          "Qwen2.5-Math-1.5B shape, LoRA rank 16 EAPO, prior = the shared base, all roles in one JVM, layers recomputed" \
          --set eapo.memory.recompute-layers=on --set eapo.memory.logits-chunk-positions=16 ;;
      budgets) budgets ;;
      *) echo "unknown measurement: $w (tiny, 0.5b, lora-0.5b, lora-1.5b, budgets)" >&2; exit 2 ;;
    esac
  done
done
