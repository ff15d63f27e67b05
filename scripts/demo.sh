#!/usr/bin/env bash
# The embedded default, end to end on one CPU machine: build, write the synthetic math task and its tokenizer,
# initialise the tiny Qwen2-architecture policy, sample from it, and grade the samples with the Verifier.
# (Training on top of this is issues #4/#5; this script grows with them.)
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
RUN=results/demo
mkdir -p "$RUN"
node() { java -jar "$JAR" "$@"; }

[ -f data/synthetic/test.jsonl ] || node synthetic-data
[ -f "$RUN/model/config.json" ] || node init-model --tokenizer data/synthetic/tokenizer --out "$RUN/model" --seed 0
PROMPT=$(head -1 data/synthetic/test.jsonl | sed -E 's/.*"prompt":"([^"]*)".*/\1/')
ANSWER=$(head -1 data/synthetic/test.jsonl | sed -E 's/.*"answer":"([^"]*)".*/\1/')
echo "prompt: $PROMPT   (reference answer: $ANSWER)"
OUT=$(node generate --model "$RUN/model" --prompt "$PROMPT " --max-new-tokens 48 --temperature 1.0 --seed 7)
echo "sample: $OUT"
python3 -c 'import json,sys; print(json.dumps({"gold": sys.argv[1], "response": sys.argv[2]}))' "$ANSWER" "$OUT" > "$RUN/sample.jsonl"
node verify --in "$RUN/sample.jsonl" --out "$RUN/graded.jsonl"
echo "graded: $(cat "$RUN/graded.jsonl")"
