#!/usr/bin/env bash
# The long form of the determinism invariant (issue #21): a loopback cluster of the built jar (learner, prior,
# verifier, two samplers) whose nodes are killed with SIGKILL at random moments and restarted, N times, against a
# fault-free run of the same seed; prints the table (kills per role, steps trained again, questions re-issued,
# late answers dropped, delay per kill, verdict) and writes it to results/chaos/chaos.md and chaos.json.
# Usage: scripts/chaos.sh [--kills N] [--steps S] [--seed K] [--minutes M] [--out DIR]   (defaults 20, 40, 0, 30)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f target/eapo-node.jar ] || mvn -q -B -DskipTests package
exec java -jar target/eapo-node.jar chaos "$@"
