#!/usr/bin/env bash
# Installs the speed reference for `ffwd bench --vs-pytorch`: Debian's PyTorch 1.13.1 with OpenBLAS
# (without libopenblas0-pthread it falls back to the reference BLAS, ~3 GFLOP/s: a strawman).
set -euo pipefail
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null && /sbin/ldconfig -p | grep -q libopenblas; then exit 0; fi
echo "bench: installing python3-torch and libopenblas0-pthread (apt)" >&2
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >/dev/null
