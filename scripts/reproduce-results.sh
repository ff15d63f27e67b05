#!/usr/bin/env bash
# The results table of issue #7 on the embedded task: GRPO vs EAPO over several seeds, then sweeps of tau, the
# annealing steps T, the IS mode and the experience granularity, and the sibling methods of issue #8 (ExGRPO,
# EXPO, DAPO, and EAPO with EXPO's curriculum) with their configuration defaults, all from the committed tiny base and prior with the
# same budget per run (steps x questions x group size). Each run is a full `eapo-node train` run in
# results/table/<name>-s<seed>/; a run whose summary.json is complete for --steps is skipped, so the script continues
# where an interrupted one stopped (delete a run's directory to redo it); a finished run with fewer steps is continued
# from its last checkpoint to --steps (nothing in training depends on the total: the learning rate is constant and
# the annealing counts steps from 0), so a larger budget reuses the smaller one's runs. Then `bench pipeline` measures the step time of
# EAPO against GRPO in one process, and the `results` command writes results/table/summary.md, summary.json and
# the PNG charts (mean and spread over seeds).
#
#
# With --task countdown (issue #20) the same runs are made on the Countdown task from models/countdown-base and
# models/countdown-prior into results/countdown/: GRPO and EAPO over 5 seeds, the sweeps of tau, T, the IS mode
# and the experience granularity over 3, and the EAPO - GRPO difference paired by seed with 95% intervals.
#
# Usage: scripts/reproduce-results.sh [--task math|countdown] [--steps N] [--eval-every N] [--seeds "0 1 2"]
#                                     [--sweep-seeds "0 1"] [--only REGEX] [--skip-bench] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=math
for a in "$@"; do [ "${prev:-}" = --task ] && TASK="$a"; prev="$a"; done
if [ "$TASK" = countdown ]; then
  STEPS=60; EVAL_EVERY=10; SEEDS="0 1 2 3 4"; SWEEP_SEEDS="0 1 2"; OUT=results/countdown
  TASK_FLAGS="--task countdown --model models/countdown-base --prior models/countdown-prior --data data/countdown/train.jsonl --test data/countdown/test.jsonl"
else
  STEPS=30; EVAL_EVERY=10; SEEDS="0 1 2"; SWEEP_SEEDS="0 1"; OUT=results/table; TASK_FLAGS=""
fi
ONLY="."; BENCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --task) shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --eval-every) EVAL_EVERY="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --sweep-seeds) SWEEP_SEEDS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --skip-bench) BENCH=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under the runs.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$JAR" "$WORK/eapo-node.jar"
mkdir -p "$OUT"
conf() { printf '%s\n' "$2" > "$WORK/$1.conf"; echo "--config $WORK/$1.conf"; }

# name | flags (EAPO defaults: alpha_0 0.5, T 100, tau 1.0, linear annealing, truncated IS, token granularity)
MAIN=(
  "grpo|--grpo"
  "eapo|"
)
SWEEPS=(
  "tau-0|--tau 0"
  "tau-0.3|--tau 0.3"
  "tau-3|--tau 3"
  "T-0|--annealing-steps 0"
  "T-15|--annealing-steps 15"
  "T-30|--annealing-steps 30"
  "T-never|$(conf never-anneal 'eapo.algorithm.experience.shape = constant')"
  "is-none|$(conf is-none 'eapo.algorithm.is.mode = none')"
  "is-shaped|$(conf is-shaped 'eapo.algorithm.is.mode = shaped')"
  "token-pos|$(conf token-pos 'eapo.algorithm.advantage.correct-experience-only = true')"
  "trajectory-pos|$(conf trajectory-pos 'eapo.algorithm { experience.granularity = trajectory, advantage.correct-experience-only = true }')"
  "exgrpo|--grpo $(conf exgrpo 'eapo.algorithm.exgrpo.enabled = true')"
  "expo-kl|--grpo $(conf expo-kl 'eapo.algorithm.expo.kl.enabled = true')"
  "expo-curriculum|--grpo $(conf expo-curriculum 'eapo.algorithm.expo.curriculum.enabled = true')"
  "eapo-curriculum|$(conf eapo-curriculum 'eapo.algorithm.expo.curriculum.enabled = true')"
  "dapo|--grpo $(conf dapo 'eapo.algorithm { advantage.drop-uniform-groups = true, dapo.overlong.enabled = true }')"
)

run() { # name flags seed
  local dir="$OUT/$1-s$3"
  if [ -f "$dir/summary.json" ] && grep -q heldout_accuracy_after "$dir/summary.json" \
      && grep -Eq "\"steps\" *: *$STEPS\b" "$dir/summary.json"; then
    echo "== $1 seed $3: done, skipped"; return
  fi
  [[ "$1" =~ $ONLY ]] || return 0
  echo "== $1 seed $3"
  # shellcheck disable=SC2086
  java -jar "$WORK/eapo-node.jar" train --steps "$STEPS" --eval-every "$EVAL_EVERY" --seed "$3" \
      --results-dir "$OUT" --run-id "$1-s$3" $TASK_FLAGS $2 > "$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
  grep -E "held-out|wrote" "$WORK/run.log" | tr '\r' '\n' | grep -E "^held-out|^wrote" || true
}
if [ "$TASK" = countdown ]; then
  # The sweeps that ask what EAPO's parts do (the paper's Figs. 2-4); the sibling methods stay on the math task.
  SWEEPS=(
    "tau-0.3|--tau 0.3"
    "tau-3|--tau 3"
    "T-15|--annealing-steps 15"
    "is-none|$(conf is-none 'eapo.algorithm.is.mode = none')"
    "trajectory|$(conf trajectory 'eapo.algorithm.experience.granularity = trajectory')"
  )
fi
for seed in $SEEDS; do for r in "${MAIN[@]}"; do run "${r%%|*}" "${r#*|}" "$seed"; done; done
for seed in $SWEEP_SEEDS; do for r in "${SWEEPS[@]}"; do run "${r%%|*}" "${r#*|}" "$seed"; done; done

if [ "$BENCH" = 1 ]; then
  java -jar "$WORK/eapo-node.jar" bench pipeline --steps 8 --out "$OUT/bench-pipeline.json"
fi
SPEED=()
[ -f "$OUT/bench-pipeline.json" ] && SPEED=(--speed "$OUT/bench-pipeline.json")
if [ "$TASK" = countdown ]; then
  # Each figure whose settings have finished runs (a partial invocation, --only, still gets its table).
  finished() {
    for s in ${1//,/ }; do grep -qs heldout_accuracy_after "$OUT/$s"-s*/summary.json || return 1; done
  }
  ARGS=()
  # GRPO first in every figure: the reference whose final accuracy the steps-to-reach table measures against.
  for f in "main=grpo,eapo" "tau=grpo,tau-0.3,eapo,tau-3" "annealing=grpo,T-15,eapo" "is-mode=grpo,eapo,is-none" \
           "granularity=grpo,eapo,trajectory"; do
    finished "${f#*=}" && ARGS+=(--figure "$f")
  done
  finished "eapo,grpo" && ARGS+=(--difference "eapo-minus-grpo=eapo,grpo")
  java -jar "$WORK/eapo-node.jar" results --dir "$OUT" "${SPEED[@]}" "${ARGS[@]}"
  exit 0
fi
java -jar "$WORK/eapo-node.jar" results --dir "$OUT" "${SPEED[@]}" \
    --figure "main=grpo,eapo" \
    --figure "tau=tau-0,tau-0.3,eapo,tau-3" \
    --figure "annealing=T-0,T-15,T-30,eapo,T-never" \
    --figure "is-mode=eapo,is-none,is-shaped" \
    --figure "granularity=token-pos,trajectory-pos" \
    --figure "strategies=grpo,exgrpo,expo-kl,expo-curriculum,dapo" \
    --figure "with-eapo=grpo,eapo,eapo-curriculum"
