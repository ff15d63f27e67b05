#!/usr/bin/env bash
# EAPO vs plain GRPO from the same base, same seeds and budget, on the actor pipeline: held-out accuracy at
# equal learner steps. Writes results/eapo-vs-grpo/{eapo,grpo}/ (full runs) and results/eapo-vs-grpo/summary.json.
# Usage: scripts/compare-eapo-grpo.sh [steps] [extra train flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-60}"; shift || true
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
# Run from a copy so that rebuilding the project meanwhile cannot pull the jar from under the runs.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$JAR" "$WORK/eapo-node.jar"
OUT=results/eapo-vs-grpo
rm -rf "$OUT/eapo" "$OUT/grpo"
java -jar "$WORK/eapo-node.jar" train --steps "$STEPS" --results-dir "$OUT" --run-id eapo "$@"
java -jar "$WORK/eapo-node.jar" train --steps "$STEPS" --results-dir "$OUT" --run-id grpo --grpo "$@"
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = {}
for method in ("eapo", "grpo"):
    curve = {0: json.load(open(os.path.join(out, method, "summary.json")))["heldout_accuracy_before"]}
    for line in open(os.path.join(out, method, "metrics.jsonl")):
        m = json.loads(line)
        if m.get("heldout_accuracy") is not None:
            curve[m["step"] + 1] = m["heldout_accuracy"]
    s = json.load(open(os.path.join(out, method, "summary.json")))
    curve[s["steps"]] = s["heldout_accuracy_after"]
    rows[method] = {"heldout_accuracy_by_step": curve, "train_seconds": s["train_seconds"]}
steps = sorted(set(rows["eapo"]["heldout_accuracy_by_step"]) & set(rows["grpo"]["heldout_accuracy_by_step"]))
print(f"{'step':>5} {'EAPO':>7} {'GRPO':>7} {'EAPO-GRPO':>10}")
for k in steps:
    e, g = rows["eapo"]["heldout_accuracy_by_step"][k], rows["grpo"]["heldout_accuracy_by_step"][k]
    print(f"{k:>5} {e:7.3f} {g:7.3f} {e - g:+10.3f}")
rows["steps_compared"] = steps
json.dump(rows, open(os.path.join(out, "summary.json"), "w"), indent=2)
print("wall seconds: EAPO %.0f, GRPO %.0f" % (rows["eapo"]["train_seconds"], rows["grpo"]["train_seconds"]))
PY
