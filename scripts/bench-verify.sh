#!/usr/bin/env bash
# Verifier throughput on a realistic mix vs. a plain string-equality baseline.
# Writes results/bench-verify.json. Usage: scripts/bench-verify.sh [seconds-per-measurement]
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=target/eapo-node.jar
if [[ ! -f "$JAR" ]]; then
  flock /tmp/eapo-mvn.lock mvn -q -B -DskipTests package
fi
java -cp "$JAR" ai.eapo.verify.VerifierBenchmark ../shared results/bench-verify.json "${1:-3}"
