#!/usr/bin/env bash
# The PyTorch LoRA baseline (torch_lora.py, arguments passed through) on Debian's torch, which uses
# OpenBLAS through the libblas.so.3 alternative that libopenblas0-pthread installs. Installs them when
# missing (as root); Debian's torch is only importable by Debian's /usr/bin/python3, not a pyenv python3.
set -euo pipefail

packages=(python3-torch libopenblas0-pthread)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libgomp's threads spin for 300000 iterations after each parallel region (its default), taking the cores
# from OpenBLAS's own threads during fp32 matmuls: a short spin doubles fp32 speed on 2 cores and leaves
# bf16 (oneDNN, OpenMP only) as fast.
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"

exec /usr/bin/python3 "$(dirname "$0")/torch_lora.py" "$@"
