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
# With --task countdown (issue #20) the same runs are made on the Countdown task from models/countdown-base and
# models/countdown-prior: GRPO and EAPO over 5 seeds and the sweeps over 3, 60 steps each, into results/countdown/;
# then the GRPO and EAPO runs are copied into results/countdown-120/ and continued to --main-steps (120, where the
# curves have flattened; --main-steps equal to --steps continues nothing), with the EAPO - GRPO difference paired
# by seed with 95% intervals in both. The sweeps run by default are the two that may change a default (tau 0.3,
# T 15); --sweeps all adds tau 3 (on this base it consults the prior nowhere: it is GRPO), IS mode none and
# trajectory experience. Wall time from scratch on 2 cores: about 2 h (--sweeps all: about 2 h 45 min).
#
# Runs go --jobs at a time (default 2), each with OMP_NUM_THREADS = cores / jobs (unless set): one run's learner
# and sampler keep ~1.8 of 2 cores busy, two side by side keep both; four 20-step Countdown runs took 457 s
# against 598 s one after the other (1.31x), with the same held-out results.
#
# Usage: scripts/reproduce-results.sh [--task math|countdown] [--steps N] [--main-steps N] [--eval-every N]
#            [--seeds "0 1 2"] [--sweep-seeds "0 1"] [--sweeps all|"name ..."] [--only REGEX] [--jobs N]
#            [--skip-bench] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=math
for a in "$@"; do [ "${prev:-}" = --task ] && TASK="$a"; prev="$a"; done
if [ "$TASK" = countdown ]; then
  STEPS=60; MAIN_DEFAULT=120; EVAL_EVERY=10; SEEDS="0 1 2 3 4"; SWEEP_SEEDS="0 1 2"; OUT=results/countdown
  SWEEP_NAMES="tau-0.3 T-15"
  TASK_FLAGS="--task countdown --model models/countdown-base --prior models/countdown-prior --data data/countdown/train.jsonl --test data/countdown/test.jsonl"
else
  STEPS=30; MAIN_DEFAULT=0; EVAL_EVERY=10; SEEDS="0 1 2"; SWEEP_SEEDS="0 1"; OUT=results/table; TASK_FLAGS=""
  SWEEP_NAMES=all
fi
ONLY="."; BENCH=1; JOBS=2; MAIN_STEPS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --task) shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --main-steps) MAIN_STEPS="$2"; shift 2 ;;
    --eval-every) EVAL_EVERY="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --sweep-seeds) SWEEP_SEEDS="$2"; shift 2 ;;
    --sweeps) SWEEP_NAMES="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --skip-bench) BENCH=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "--jobs must be a positive integer, not '$JOBS'" >&2; exit 2; }
[ -n "$MAIN_STEPS" ] || MAIN_STEPS=$(( MAIN_DEFAULT > STEPS ? MAIN_DEFAULT : STEPS ))
[[ "$MAIN_STEPS" =~ ^[0-9]+$ && "$MAIN_STEPS" -ge "$STEPS" ]] \
  || { echo "--main-steps must be a number >= --steps ($STEPS), not '$MAIN_STEPS'" >&2; exit 2; }
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under the runs.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Runs in the background ignore SIGINT (no job control in a script): an interrupted script stops them itself,
# each run's java and then the subshell that waits for it.
trap 'for p in $(jobs -p); do pkill -TERM -P "$p"; kill "$p"; done 2>/dev/null; wait; exit 130' INT TERM
cp "$JAR" "$WORK/eapo-node.jar"
mkdir -p "$OUT"
conf() { printf '%s\n' "$2" > "$WORK/$1.conf"; echo "--config $WORK/$1.conf"; }
# libtorch's threads per run: the cores shared out among the runs side by side.
THREADS="${OMP_NUM_THREADS:-$(( $(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1 ))}"
START=$SECONDS

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
if [ "$SWEEP_NAMES" != all ]; then
  CHOSEN=()
  for n in $SWEEP_NAMES; do
    found=""
    for r in "${SWEEPS[@]}"; do [ "${r%%|*}" = "$n" ] && CHOSEN+=("$r") && found=1; done
    [ -n "$found" ] || { echo "--sweeps: no sweep named '$n' (known: ${SWEEPS[*]%%|*})" >&2; exit 2; }
  done
  SWEEPS=("${CHOSEN[@]}")
fi

# The runs in flight, at most --jobs of them. A failed run is reported when it ends and the others finish (every
# run resumes from its checkpoints); the script then stops with an error at the next barrier.
barrier() {
  wait
  [ ! -e "$WORK/failed" ] || { echo "a run failed (its log is above)" >&2; exit 1; }
}
run() { # out steps name flags seed
  local out="$1" steps="$2" name="$3" flags="$4" seed="$5" dir="$1/$3-s$5"
  if [ -f "$dir/summary.json" ] && grep -q heldout_accuracy_after "$dir/summary.json" \
      && grep -Eq "\"steps\" *: *$steps\b" "$dir/summary.json"; then
    echo "== $name seed $seed ($out): done, skipped"; return
  fi
  [[ "$name" =~ $ONLY ]] || return 0
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 2; done
  echo "== $name seed $seed ($out, $steps steps): started at $(( (SECONDS - START) / 60 )) min"
  local log="$WORK/$name-s$seed-$steps.log"
  # shellcheck disable=SC2086
  { OMP_NUM_THREADS="$THREADS" java -jar "$WORK/eapo-node.jar" train --steps "$steps" --eval-every "$EVAL_EVERY" \
        --seed "$seed" --port 0 --results-dir "$out" --run-id "$name-s$seed" $TASK_FLAGS $flags > "$log" 2>&1 \
      || { echo "== $name seed $seed ($out) FAILED:"; tail -20 "$log"; touch "$WORK/failed"; exit 1; }
    echo "== $name seed $seed ($out): finished at $(( (SECONDS - START) / 60 )) min;" \
      "$(tr '\r' '\n' < "$log" | grep -E "^held-out" | tail -1 || true)"; } &
}
for seed in $SEEDS; do for r in "${MAIN[@]}"; do run "$OUT" "$STEPS" "${r%%|*}" "${r#*|}" "$seed"; done; done
OUT_MAIN=$OUT
if [ "$MAIN_STEPS" -gt "$STEPS" ]; then
  # The main pair continues from its --steps runs' checkpoints (copied once), beside the sweeps.
  OUT_MAIN="$OUT-$MAIN_STEPS"
  barrier
  mkdir -p "$OUT_MAIN"
  for seed in $SEEDS; do for r in "${MAIN[@]}"; do
    name="${r%%|*}"
    [ -d "$OUT_MAIN/$name-s$seed" ] || [ ! -f "$OUT/$name-s$seed/summary.json" ] || cp -r "$OUT/$name-s$seed" "$OUT_MAIN/"
    run "$OUT_MAIN" "$MAIN_STEPS" "$name" "${r#*|}" "$seed"
  done; done
fi
for seed in $SWEEP_SEEDS; do for r in "${SWEEPS[@]}"; do run "$OUT" "$STEPS" "${r%%|*}" "${r#*|}" "$seed"; done; done
barrier
echo "== training runs done at $(( (SECONDS - START) / 60 )) min"

if [ "$BENCH" = 1 ]; then
  java -jar "$WORK/eapo-node.jar" bench pipeline --steps 8 --out "$OUT/bench-pipeline.json"
fi
SPEED=()
[ -f "$OUT/bench-pipeline.json" ] && SPEED=(--speed "$OUT/bench-pipeline.json")
# Each figure is drawn from its settings with finished runs (a partial invocation, --sweeps or --only, still gets
# its tables) once it has two of them and what it is about: EAPO for the main one, a sweep point for the others.
# The first setting drawn is the reference whose final accuracy the steps-to-reach table measures against.
finished() { # out setting
  grep -qs heldout_accuracy_after "$1/$2"-s*/summary.json
}
if [ "$TASK" = countdown ]; then
  FIGURES=("main=grpo,eapo" "tau=grpo,tau-0.3,eapo,tau-3" "annealing=grpo,T-15,eapo" "is-mode=grpo,eapo,is-none"
           "granularity=grpo,eapo,trajectory")
else
  FIGURES=("main=grpo,eapo" "tau=tau-0,tau-0.3,eapo,tau-3" "annealing=T-0,T-15,T-30,eapo,T-never"
           "is-mode=eapo,is-none,is-shaped" "granularity=token-pos,trajectory-pos"
           "strategies=grpo,exgrpo,expo-kl,expo-curriculum,dapo" "with-eapo=grpo,eapo,eapo-curriculum")
fi
ARGS=()
for f in "${FIGURES[@]}"; do
  settings="${f#*=}"; present=(); about=""
  for s in ${settings//,/ }; do
    finished "$OUT" "$s" || continue
    present+=("$s")
    case "$s" in
      grpo) ;;
      eapo) [ "${f%%=*}" != main ] || about=1 ;;
      *) about=1 ;;
    esac
  done
  [ -n "$about" ] && [ "${#present[@]}" -ge 2 ] && ARGS+=(--figure "${f%%=*}=$(IFS=,; echo "${present[*]}")")
done
if [ "$TASK" = countdown ]; then
  finished "$OUT" eapo && finished "$OUT" grpo && ARGS+=(--difference "eapo-minus-grpo=eapo,grpo")
fi
java -jar "$WORK/eapo-node.jar" results --dir "$OUT" "${SPEED[@]}" "${ARGS[@]}"
if [ "$OUT_MAIN" != "$OUT" ] && finished "$OUT_MAIN" eapo && finished "$OUT_MAIN" grpo; then
  java -jar "$WORK/eapo-node.jar" results --dir "$OUT_MAIN" --figure "main=grpo,eapo" \
      --difference "eapo-minus-grpo=eapo,grpo"
fi
echo "== done in $(( (SECONDS - START) / 60 )) min"
