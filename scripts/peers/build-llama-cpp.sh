#!/usr/bin/env bash
# Builds llama.cpp's benchmarks (llama-bench, llama-batched-bench) from a source tree, for the CPU decoding peer of
# `eapo-node bench decode` (issue #19; ../shared/peers/README.md). No package registry carries llama.cpp, so the
# source is an argument:
#   scripts/peers/build-llama-cpp.sh SOURCE_DIR
# e.g. from the public repository, or from the git bundle npm's node-llama-cpp ships:
#   npm pack node-llama-cpp@3.22.1 && tar -xzf node-llama-cpp-3.22.1.tgz package/llama/gitRelease.bundle
#   git clone package/llama/gitRelease.bundle llama.cpp && scripts/peers/build-llama-cpp.sh llama.cpp
# About 10 minutes on 2 cores. The binaries land in SOURCE_DIR/build/bin.
set -euo pipefail
src="${1:?usage: $0 LLAMA_CPP_SOURCE_DIR}"
if [[ ! -f "$src/CMakeLists.txt" ]]; then
  echo "$src is not a llama.cpp source tree (no CMakeLists.txt)" >&2
  exit 2
fi
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF
cmake --build "$src/build" -j "$(nproc)" --target llama-bench llama-batched-bench
ls -l "$src/build/bin/llama-bench" "$src/build/bin/llama-batched-bench"
