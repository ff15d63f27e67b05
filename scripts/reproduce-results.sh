#!/usr/bin/env bash
# The results table of issue #7 on the embedded task: GRPO vs EAPO over several seeds, then sweeps of tau, the
# annealing steps T and the IS mode, all from the committed tiny base and prior with the same budget per run.
# Each run is a full `eapo-node train` run in results/table/<name>-s<seed>/; a run whose summary.json exists is
# skipped, so the script continues where an interrupted one stopped (delete a run's directory to redo it).
# At the end results/table/summary.md and summary.json hold the mean and spread over seeds of each setting.
#
# Usage: scripts/reproduce-results.sh [--steps N] [--eval-every N] [--seeds "0 1 2"] [--sweep-seeds "0 1"] [--only REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=30; EVAL_EVERY=10; SEEDS="0 1 2"; SWEEP_SEEDS="0 1"; ONLY="."
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --eval-every) EVAL_EVERY="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --sweep-seeds) SWEEP_SEEDS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=results/table
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under the runs.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$JAR" "$WORK/eapo-node.jar"
mkdir -p "$OUT"
printf 'eapo.algorithm.experience.shape = constant\n' > "$WORK/never-anneal.conf"
printf 'eapo.algorithm.is.mode = none\n' > "$WORK/is-none.conf"
printf 'eapo.algorithm.is.mode = shaped\n' > "$WORK/is-shaped.conf"

# name | flags (EAPO defaults: alpha_0 0.5, T 100, tau 1.0, linear annealing, truncated IS)
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
  "T-never|--config $WORK/never-anneal.conf"
  "is-none|--config $WORK/is-none.conf"
  "is-shaped|--config $WORK/is-shaped.conf"
)

run() { # name flags seed
  local dir="$OUT/$1-s$3"
  if [ -f "$dir/summary.json" ] && grep -q heldout_accuracy_after "$dir/summary.json"; then
    echo "== $1 seed $3: done, skipped"; return
  fi
  [[ "$1" =~ $ONLY ]] || return 0
  echo "== $1 seed $3"
  # shellcheck disable=SC2086
  java -jar "$WORK/eapo-node.jar" train --steps "$STEPS" --eval-every "$EVAL_EVERY" --seed "$3" \
      --results-dir "$OUT" --run-id "$1-s$3" $2 > "$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
  grep -E "held-out|wrote" "$WORK/run.log" || true
}
for seed in $SEEDS; do for r in "${MAIN[@]}"; do run "${r%%|*}" "${r#*|}" "$seed"; done; done
for seed in $SWEEP_SEEDS; do for r in "${SWEEPS[@]}"; do run "${r%%|*}" "${r#*|}" "$seed"; done; done

python3 - "$OUT" <<'PY'
import json, os, re, statistics, sys
out = sys.argv[1]
runs = {}
for d in sorted(os.listdir(out)):
    m = re.fullmatch(r"(.+)-s(\d+)", d)
    path = os.path.join(out, d)
    if not m or not os.path.exists(os.path.join(path, "summary.json")):
        continue
    summary = json.load(open(os.path.join(path, "summary.json")))
    if "heldout_accuracy_after" not in summary:
        continue
    lines = [json.loads(l) for l in open(os.path.join(path, "metrics.jsonl")) if l.strip()]
    curve = {0: summary["heldout_accuracy_before"]}
    tokens, cumulative = {0: 0}, 0
    for l in lines:
        cumulative += l["tokens"]
        if l.get("heldout_accuracy") is not None:
            curve[l["step"] + 1] = l["heldout_accuracy"]
            tokens[l["step"] + 1] = cumulative
    curve[summary["steps"]] = summary["heldout_accuracy_after"]
    tokens[summary["steps"]] = cumulative
    def mean_of(key):
        values = [l[key] for l in lines if l.get(key) is not None]
        return statistics.mean(values) if values else None
    runs.setdefault(m.group(1), []).append({
        "seed": int(m.group(2)), "curve": curve, "generated_tokens": tokens, "best": max(curve.values()),
        "resampled_ratio": mean_of("resampled_ratio"), "ea_accuracy": mean_of("ea_accuracy"),
        "accuracy": mean_of("accuracy"), "tokens_per_s": mean_of("tokens_per_s"),
        "resampled_ratio_by_step": [l.get("resampled_ratio") for l in lines],
        "ea_accuracy_by_step": [l.get("ea_accuracy") for l in lines]})

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.mean(values):.1f} ± {100 * statistics.stdev(values):.1f}"

steps = sorted(set.intersection(*(set(r["curve"]) for rs in runs.values() for r in rs))) if runs else []
head = "| setting | seeds | " + " | ".join(f"held-out @{s}" for s in steps) + " | best | train acc | EA acc | resampled | tokens/s |"
rows = [head, "|" + "---|" * (head.count("|") - 1)]
for name, rs in runs.items():
    cells = [name, str(len(rs))] + [spread([r["curve"][s] for r in rs]) for s in steps]
    cells += [spread([r["best"] for r in rs]), spread([r["accuracy"] for r in rs]),
              spread([r["ea_accuracy"] for r in rs]), spread([r["resampled_ratio"] for r in rs]),
              f"{statistics.mean(r['tokens_per_s'] for r in rs):.0f}"]
    rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows)
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("# Results on the embedded task\n\nGreedy held-out accuracy (%) on 400 problems by learner step, "
            "mean ± sample standard deviation over seeds; train acc, EA acc (experience-augmented responses) and "
            "resampled (share of EA-response tokens from the prior) are means over the run's steps. Produced by "
            "scripts/reproduce-results.sh.\n\n" + table + "\n")
json.dump(runs, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(table)
PY
