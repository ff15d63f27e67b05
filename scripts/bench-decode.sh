#!/usr/bin/env bash
# Cached incremental decoding (DecodeBatch) vs. recomputing the prefix, per batch size, plus achieved FLOP/s
# against a plain fp32 matmul. Writes results/bench-decode.json (override with --out).
# Usage: scripts/bench-decode.sh [--batch-sizes 1,8,32,64] [--new-tokens 64] [--prompt-length 16] [--device cpu] ...
#        (scripts/bench-decode.sh --help lists every option)
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=target/eapo-node.jar
if [[ ! -f "$JAR" ]]; then
  mvn -q -B -DskipTests package
fi
exec java -jar "$JAR" bench decode "$@"
