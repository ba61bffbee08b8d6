#!/usr/bin/env bash
# The CUDA module's native parts, run by Maven (generate-resources) with the build directory as $1:
# 1. nvcc compiles src/main/cuda/flexllm_kernels.cu (and the flexllm_math.cuh it includes) into one fatbin
#    (sm_80 and sm_90 code, compute_90 PTX for newer GPUs), packaged in the jar as
#    org/flexllm/cuda/flexllm_kernels.fatbin; ptxas prints each kernel's registers and spills (-Xptxas -v). A kernel
#    that does not compile fails the build. No nvcc: the jar has no kernels and the CUDA backend reports itself
#    unavailable.
# 2. cuBLAS and NCCL from NVIDIA's wheels (pip download: the machine's package index), their libraries and headers
#    unpacked into $1/nvidia/, where the bindings' tests load them and check their descriptors against the headers.
#    Kept between builds; no pip: those tests are skipped.
# Every step says what it did or why it skipped; none fails the build for a missing tool.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${1:?usage: build-native.sh TARGET_DIR}
say() { echo "flexllm-cuda: $*" >&2; }

fatbin_dir="$target/classes/org/flexllm/cuda"
fatbin="$fatbin_dir/flexllm_kernels.fatbin"
sources="$here/src/main/cuda"
source_file="$sources/flexllm_kernels.cu"
if ! command -v nvcc > /dev/null; then
  say "no nvcc on the PATH: building without the kernels' fatbin"
elif [ -f "$fatbin" ] && [ -z "$(find "$sources" -newer "$fatbin" -print -quit)" ]; then
  say "fatbin up to date"
else
  mkdir -p "$fatbin_dir"
  nvcc -fatbin -O3 -Xptxas -v -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 -o "$fatbin" "$source_file"
  say "compiled $(basename "$fatbin") with $(nvcc --version | tail -1)"
fi

wheels="$target/nvidia"
# The versions the bindings were written against (cuBLAS 13, NCCL 2.30, for CUDA 13).
cublas_wheel=nvidia-cublas==13.1.1.3
nccl_wheel=nvidia-nccl-cu13==2.30.7
# The marker names what is unpacked: a folder from before the headers were kept is unpacked again.
marker="$wheels/.unpacked-with-headers"
if [ -f "$marker" ]; then
  say "cuBLAS and NCCL already unpacked in $wheels"
elif ! command -v pip > /dev/null && ! command -v python3 > /dev/null; then
  say "no pip: the cuBLAS and NCCL bindings' tests will be skipped"
else
  mkdir -p "$wheels/download"
  if python3 -m pip download --quiet --no-deps "$cublas_wheel" "$nccl_wheel" -d "$wheels/download" >&2; then
    python3 - "$wheels" <<'PY'
import pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
for wheel in sorted((out / "download").glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if ("/lib/" in name and ".so" in name) or ("/include/" in name and name.endswith(".h")):
                z.extract(name, out)
PY
    rm -rf "$wheels/download"
    touch "$marker"
    say "unpacked cuBLAS and NCCL into $wheels"
  else
    say "pip could not download $cublas_wheel and $nccl_wheel: the bindings' tests will be skipped"
  fi
fi
