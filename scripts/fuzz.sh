#!/usr/bin/env bash
# Fuzzes the parsers of outside input with Jazzer, MINUTES minutes per target (default 10):
#   scripts/fuzz.sh [MINUTES] [FILTER]     FILTER: run only the targets whose "Class#method" contains it
# Jazzer fuzzes one @FuzzTest per JVM, so each target runs in a Maven run of its own. Its corpus grows in
# <module>/.cifuzz-corpus/<class>/<method> (ignored by git), seeded from the target's Inputs folder under
# src/test/resources and from the ../shared files listed below, copied there (never into the repository). A finding
# (any exception but the library's typed ones, more than 512 MiB allocated for one input, an input running past the
# 10 s of FuzzTarget) stops the target and Jazzer writes the input into its Inputs folder: fix the parser and commit
# the file under a name that says what it found; ./test then runs it as a regression input. Interrupting a run also
# leaves the input it was on there as a crash-* file: delete that one. Logs go to target/fuzz/, with a summary of
# executions and coverage (libFuzzer's cov: edges of the project's classes, ft: features) per target.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/jdk.sh
minutes=${1:-10}
filter=${2:-}
# Inputs longer than this are cut: headers and JSON fit, and mutating megabytes of tensor data finds nothing.
max_len=65536
shared=$(realpath ../shared)
mkdir -p target/fuzz
summary=target/fuzz/summary.txt
: > "$summary"

# module | test class | method | seed files from ../shared (globs; files over 1 MB are left out; libFuzzer cuts
# the others to max_len)
targets=(
  "flexllm-core|org.flexllm.io.SafetensorsFuzzTest|open|golden/models/*/model.safetensors golden/models/*/lora/adapter_model.safetensors"
  "flexllm-core|org.flexllm.io.GgufFuzzTest|load|models/stories260K-gguf/stories260K.gguf"
  "flexllm-core|org.flexllm.model.ConfigFuzzTest|configJson|models/stories260K/config.json golden/models/*/config.json"
  "flexllm-core|org.flexllm.model.ConfigFuzzTest|generationConfigJson|models/stories260K/generation_config.json"
  "flexllm-core|org.flexllm.tokenizer.TokenizerFuzzTest|tokenizerJson|models/stories260K/tokenizer.json"
  "flexllm-core|org.flexllm.tokenizer.TokenizerFuzzTest|tokenizerConfigJson|models/stories260K/tokenizer_config.json tokenizers/*/tokenizer_config.json"
  "flexllm-core|org.flexllm.tokenizer.TokenizerFuzzTest|chatTemplate|@chat_templates"
  "flexllm-peft|org.flexllm.peft.format.AdapterFuzzTest|adapterConfigJson|golden/models/*/lora/adapter_config.json golden/models/*/lora_rslora/adapter_config.json"
  "flexllm-peft|org.flexllm.peft.format.AdapterFuzzTest|adapterWeights|golden/models/llama-gqa/lora/adapter_model.safetensors"
  "flexllm-peft|org.flexllm.peft.data.DatasetFuzzTest|read|golden/tokenizer/corpus.jsonl models/stories260K/reference/runc_encode_tok512.jsonl"
  "examples|org.flexllm.examples.bench.TraceFuzzTest|read|"
  "flexllm-server|org.flexllm.server.openai.RequestFuzzTest|completion|"
  "flexllm-server|org.flexllm.server.openai.RequestFuzzTest|chat|"
  "flexllm-server|org.flexllm.server.finetune.FineTuningRequestFuzzTest|multipart|"
  "flexllm-server|org.flexllm.server.finetune.FineTuningRequestFuzzTest|jobSpec|"
)

# The chat templates of ../shared's tokenizer_config.json files, one seed file each.
chat_templates() {
  python3 - "$shared" "$1" <<'PY'
import glob, json, os, sys
shared, out = sys.argv[1], sys.argv[2]
for path in glob.glob(os.path.join(shared, "tokenizers/*/tokenizer_config.json")):
    template = json.load(open(path, encoding="utf-8")).get("chat_template")
    if isinstance(template, str):
        name = os.path.basename(os.path.dirname(path))
        open(os.path.join(out, name + ".jinja"), "w", encoding="utf-8").write(template)
PY
}

for target in "${targets[@]}"; do
  IFS='|' read -r module class method seeds <<< "$target"
  [[ "$class#$method" == *"$filter"* ]] || continue
  corpus="$module/.cifuzz-corpus/$class/$method"
  mkdir -p "$corpus"
  for glob in $seeds; do
    if [ "$glob" = "@chat_templates" ]; then chat_templates "$corpus"; continue; fi
    for f in "$shared"/$glob; do
      [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 1048576 ] && cp "$f" "$corpus/shared-$(echo "${f#$shared/}" | tr / _)"
    done
  done
  log="target/fuzz/${class##*.}.$method.log"
  echo "fuzzing $class#$method for $minutes min (log: $log)"
  # JUnit would apply a target's @Timeout to the whole fuzzing run; Jazzer passes it to libFuzzer as the limit
  # per input instead, so JUnit's own enforcement is switched off here (./test keeps it, per regression input).
  # Only the default surefire execution: -Dtest overrides the includes of the others (core's kernel runs), which
  # would fuzz the target again each.
  JAZZER_FUZZ=1 JAZZER_MAX_DURATION="${minutes}m" mvn -o -B -ntp test-compile surefire:test@default-test \
      -pl "$module" -am \
      -Dtest="$class#$method" -Dsurefire.failIfNoSpecifiedTests=false \
      -Djunit.jupiter.execution.timeout.mode=disabled \
      -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_len=$max_len > "$log" 2>&1
  rc=$?
  done_line=$(grep -P '^#\d+\s+DONE' "$log" | tail -1)
  last=$(grep -P '^#\d+\s' "$log" | tail -1)
  runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
  printf '%-55s rc=%s  %s  [%s]\n' "$class#$method" "$rc" "${done_line:-$last}" "$runs" | tee -a "$summary"
done
echo "summary: $summary"
