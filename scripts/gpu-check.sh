#!/usr/bin/env bash
# The GPU check of issue 12, in two halves, so that the GPU machine needs neither a JDK nor Maven:
#
#   scripts/gpu-check.sh bundle [MVN_ARGS]  here: builds the jars and jlinks a Java 25 runtime for them
#                                           (--compress=zip-9) into target/gpu-check/ (runtime/, lib/), archived
#                                           as target/gpu-check.tar.gz
#   scripts/gpu-check.sh device             there, from target/gpu-check.tar.gz alone: the runtime's version, flexllm
#                                           info, nvidia-smi, the backend conformance suite on cuda, then bench
#                                           decode|prefill|finetune|coserve on synthetic:llama-8b-2l and
#                                           synthetic:llama-1b with --backend cuda; one JSON object per line on
#                                           stdout, logs on stderr
#   scripts/gpu-check.sh [MVN_ARGS]         both, one after the other
#
# Where a step needs what this machine lacks (no nvidia-smi, or the cuda backend cannot run: no driver, no GPU, a
# driver too old, or no CUDA backend yet) it prints {"step":...,"stopped":true,"reason":...} and exits 3, everything
# before it having run. Exit 1: a step failed. With the device tool: run `scripts/gpu-check.sh device` carrying
# target/gpu-check.tar.gz (it must stay under the tool's 64 MiB; `bundle` prints its size). The conformance suite and the
# benches read the shared test assets from $FLEXLLM_SHARED (default: shared/ of the checkout, else ../shared).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/target/gpu-check"
say() { echo "gpu-check: $*" >&2; }
# One JSON line saying where the check stopped and why, then exit 3. $2 is already a JSON string.
stop() { printf '{"step":"%s","stopped":true,"reason":%s}\n' "$1" "$2"; exit 3; }
quote() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

bundle() {
  source "$root/scripts/jdk.sh"
  say "building the jars (mvn install -DskipTests $*)"
  (cd "$root" && mvn -q -B -Dstyle.color=never "$@" install -DskipTests -pl examples,flexllm-conformance -am) >&2
  rm -rf "$out"
  mkdir -p "$out/lib"
  cp "$root"/examples/target/examples-*.jar "$root"/examples/target/lib/*.jar "$root"/flexllm-conformance/target/flexllm-conformance-*.jar "$out/lib/"
  (cd "$root" && mvn -q -B -Dstyle.color=never "$@" dependency:copy-dependencies -pl flexllm-conformance \
    -DincludeScope=runtime -DoutputDirectory="$out/lib") >&2
  # Not needed by anything the check runs: fuzzing (a test-support dependency), and the plots (--plot), whose
  # java.desktop the runtime leaves out below.
  rm -f "$out"/lib/{jazzer,xchart,pdfbox,fontbox,VectorGraphics2D,graphics2d,animated-gif-lib}*.jar
  # The modules the jars use, as jdeps reads them, less those of paths this check never takes (plots: java.desktop;
  # annotation processing and agents: java.compiler, java.instrument, jdk.attach, jdk.jdi), plus the two the code
  # reaches without a static reference: the Vector API (an incubator module, added by name), HotSpot's diagnostic
  # bean (the CPU's vector registers) and the jar file system (JUnit scans the suite's jar through it). The YAML jars are left out of the analysis only (they need
  # java.base alone): jackson-dataformat-yaml's module-info requires a module snakeyaml's jar does not declare,
  # which stops jdeps.
  local modules jars
  jars=$(ls "$out"/lib/*.jar | grep -v -e snakeyaml -e jackson-dataformat-yaml)
  modules=$(jdeps -q --multi-release 25 --ignore-missing-deps --print-module-deps \
    --class-path "$(echo "$jars" | tr '\n' ':')" $jars | tr ',' '\n' \
    | grep -v -x -e java.desktop -e java.compiler -e java.instrument -e jdk.attach -e jdk.jdi | paste -s -d ,)
  jlink --add-modules "$modules,jdk.incubator.vector,jdk.management,jdk.zipfs" --compress=zip-9 --strip-debug \
    --no-header-files --no-man-pages --output "$out/runtime"
  # The JVM's symbol tables (5 of its 29 MB): a crash report without them still names the Java frames.
  strip --strip-unneeded "$out/runtime/lib/server/libjvm.so"
  # The device tool carries at most 64 MiB: the runtime and jars travel as one archive, unpacked by `device`.
  tar -C "$out" -czf "$out.tar.gz" runtime lib
  say "bundle: $(du -sh "$out.tar.gz" | cut -f1) archived in $out.tar.gz (unpacked: runtime $(du -sh "$out/runtime" \
    | cut -f1), jars $(du -sh "$out/lib" | cut -f1)); modules: $modules"
}

device() {
  local java="$out/runtime/bin/java"
  if [ ! -x "$java" ] && [ -f "$out.tar.gz" ]; then
    mkdir -p "$out" && tar -C "$out" -xzf "$out.tar.gz"
  fi
  [ -x "$java" ] || { say "no runtime in $out or $out.tar.gz: run scripts/gpu-check.sh bundle first"; exit 1; }
  local shared=${FLEXLLM_SHARED:-}
  if [ -z "$shared" ]; then
    if [ -d "$root/shared" ]; then shared="$root/shared"; else shared="$root/../shared"; fi
  fi
  local jvm=("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m -XX:+UseZGC
    -Dflexllm.shared="$shared" -cp "$out/lib/*")
  cli() { "${jvm[@]}" org.flexllm.examples.cli.FlexLlm "$@"; }

  printf '{"step":"runtime","java":%s}\n' "$(quote "$("$java" -version 2>&1 | head -n 1)")"
  local info
  info=$(cli info --json --backend cuda)
  echo "$info"
  if ! command -v nvidia-smi > /dev/null; then
    stop nvidia-smi '"no nvidia-smi on the PATH: this machine has no NVIDIA driver, so no GPU to check"'
  fi
  local gpus
  gpus=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv,noheader) \
    || stop nvidia-smi "$(quote "nvidia-smi failed: $gpus")"
  printf '{"step":"nvidia-smi","gpus":%s}\n' "$(quote "$gpus")"
  if [[ $info == *'"chosen":null'* ]]; then
    stop info '"the cuda backend cannot run here: see the why of the info line above"'
  fi

  "${jvm[@]}" -Dflexllm.conformance.backends=cuda org.flexllm.conformance.ConformanceMain

  local model mode
  for model in synthetic:llama-8b-2l synthetic:llama-1b; do
    for mode in decode prefill finetune; do
      cli bench "$mode" --model "$model" --backend cuda --json
    done
    cli bench coserve --model "$model" --backend cuda --duration 60 --json
  done
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  device) device ;;
  *) bundle "$@"; device ;;
esac
