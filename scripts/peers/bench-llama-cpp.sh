#!/usr/bin/env bash
# The CPU decoding peer of `eapo-node bench decode` (issue #19): llama.cpp on the same Qwen2 shape, F32 weights
# (its KV cache stays F16, its default: llama-bench offers no F32 cache), the same threads, tokens/s at batch 1 (llama-bench tg) and batched at 8/32/64 (llama-batched-bench,
# 16-token prompts, 64 new tokens each, as bench decode). Writes results/bench-peer-llama-cpp.json, which
# `eapo-node bench all` puts beside its own decode figures.
#   scripts/peers/bench-llama-cpp.sh LLAMA_CPP_SOURCE_DIR [--shape DIR_WITH_CONFIG_JSON]
# Build the binaries first with scripts/peers/build-llama-cpp.sh.
set -euo pipefail
src="${1:?usage: $0 LLAMA_CPP_SOURCE_DIR [--shape DIR]}"
shift
cd "$(dirname "$0")/../.."
bin="$src/build/bin"
for b in llama-bench llama-batched-bench; do
  [[ -x "$bin/$b" ]] || { echo "$bin/$b missing: run scripts/peers/build-llama-cpp.sh $src first" >&2; exit 2; }
done
shape_args=()
label="18.9M (bench decode's default shape)"
if [[ "${1:-}" == "--shape" ]]; then
  cfg="${2:?--shape DIR}/config.json"
  shape_args=($(python3 -c "import json,sys; c=json.load(open('$cfg')); print('--vocab', c['vocab_size'], '--hidden', c['hidden_size'], '--intermediate', c['intermediate_size'], '--layers', c['num_hidden_layers'], '--heads', c['num_attention_heads'], '--kv-heads', c['num_key_value_heads'])"))
  label="$2"
fi
threads="$(nproc)"
model="$(mktemp -d)/peer.gguf"
PYTHONPATH="$src/gguf-py" python3 scripts/peers/qwen2-gguf.py "$model" "${shape_args[@]}"
single="$("$bin/llama-bench" -m "$model" -p 0 -n 64 -t "$threads" -o json)"
batched="$("$bin/llama-batched-bench" -m "$model" -c 8192 -b 2048 -ub 512 -npp 16 -ntg 64 -npl 1,8,32,64 \
  -t "$threads" 2>/dev/null)"
mkdir -p results
python3 - "$label" "$threads" "$single" "$batched" <<'PY' > results/bench-peer-llama-cpp.json
import json, re, sys
label, threads, single, batched = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
rows = {}
for line in batched.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 8 and cells[0].isdigit():
        pp, tg, b = int(cells[0]), int(cells[1]), int(cells[2])
        rows[b] = {"prompt": pp, "new_tokens": tg, "decode_tokens_per_s": float(cells[7])}
print(json.dumps({"peer": "llama.cpp", "shape": label, "threads": threads, "weights": "F32", "kv_cache": "F16",
                  "batch1_tokens_per_s": single[0]["avg_ts"], "batched": rows}, indent=2))
PY
cat results/bench-peer-llama-cpp.json
