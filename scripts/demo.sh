#!/usr/bin/env bash
# The main job on the embedded default: EAPO training of the committed tiny base model (models/tiny-base),
# guided by the tiny prior (models/tiny-prior), on the synthetic math task, every actor in this JVM.
# Prints a line per step and a progress bar; writes results/<run-id>/ (metrics.jsonl, config.conf, plots,
# summary.json with held-out accuracy before and after, checkpoint/).
# Extra arguments go to `eapo-node train`, e.g. --steps 20, --grpo, --config my.conf (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=target/eapo-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
exec java -jar "$JAR" train "$@"
