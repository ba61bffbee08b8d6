#!/usr/bin/env bash
# Compares the co-serving policies at the heaviest load inference alone can serve within its SLO.
#
#   scripts/coserve-sweep.sh [--model M] [--duration S] [--start-rate R] [--max-rate R] [--target A]
#                            [--slo-tpot-factor F] [--slo-ttft-factor F] [--bisect N] [--light-share F]
#                            [-- BENCH OPTIONS...]
#
# 1. SLOs: `flexllm bench coserve --slo-auto` at --start-rate under inference-only (its unloaded run sets
#    TPOT target = 1.5 x median TPOT, TTFT target = 3 x p99 TTFT by default). They are then passed to every
#    later run as --slo-ttft-ms/--slo-tpot-ms: SLOs re-calibrated at each rate would loosen with the load and
#    every rate would pass.
# 2. The rate: doubled from --start-rate while inference-only keeps an SLO attainment >= --target (0.95), up
#    to --max-rate, then bisected --bisect times (2) between the last rate that passed and the first that
#    failed. If --start-rate fails, it is halved (three times at most) first.
# 3. Every policy (inference-only, coserve, spatial, temporal, finetune-only) at that rate, one table on
#    stdout: requests submitted, attainment, TTFT p99, TPOT p99, finetuning tokens/s, the latency model's p90
#    error, the share of SLO-limited iterations over their limit (all of them, and those that carried
#    finetuning work: the co-serving scheduler's own misses; and those longer than the TPOT target itself, as
#    the limit is 0 while a request is behind), the longest GC pause and the heap allocation
#    rate (a concurrent collector's cycles take cores from the kernels). Progress: stderr.
# 4. coserve and temporal again at the lightest rate, --light-share of that rate (default 0.25), in the same
#    table: where finetuning should come closest to its finetune-only peak. These runs last --duration divided by
#    --light-share, so that they submit as many requests as the runs at the found rate.
#
# Every run lasts --duration seconds of arrivals (default 20) plus start-up, warm-up and the last requests'
# grace period (10-40 s). The default, synthetic:smollm-135m, took 11.5 minutes on a shared two-core machine
# (where it decoded at 170 ms a token): the calibration (two runs), three more rates, four policies; a faster
# machine serves a higher rate, and spends more doublings to find it. A quick check of the script itself:
#   scripts/coserve-sweep.sh --model synthetic:tiny --duration 5        (2-2.5 minutes)
# Its runs hold a handful of requests each, so its rate is noise; --duration 20 --start-rate 2 measures.
# Options after -- go to every bench run (say, -- --prompt-len 64 --output-len 64 --ft-seq-len 128).
# Needs python3 (to read the bench's JSON).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

model=synthetic:smollm-135m
duration=20
start_rate=0.5
max_rate=64
target=0.95
tpot_factor=1.5
ttft_factor=3
bisect=2
light_share=0.25
extra=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --start-rate) start_rate=$2; shift 2 ;;
    --max-rate) max_rate=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --slo-tpot-factor) tpot_factor=$2; shift 2 ;;
    --slo-ttft-factor) ttft_factor=$2; shift 2 ;;
    --bisect) bisect=$2; shift 2 ;;
    --light-share) light_share=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "coserve-sweep: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "coserve-sweep: $*" >&2; }

# python3 FILE EXPRESSION: evaluates EXPRESSION over the bench's JSON report `r` (and the sweep's settings).
py() {
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1])) if sys.argv[1] else None
target = float(sys.argv[3])
print(eval(sys.argv[2]))' "$1" "$2" "$target"
}
# Rates as short decimals: 0.5, 1, 2, 3 (bisection midpoints too).
rate_of() { python3 -c 'import sys; print("%.3g" % eval(sys.argv[1]))' "$1"; }

# bench POLICY RATE OUT [OPTIONS...]: one run of $run_duration seconds (--duration unless set), its JSON report in OUT.
bench() {
  local policy=$1 rate=$2 out=$3
  shift 3
  "$root/flexllm" bench coserve --model "$model" --policy "$policy" --rate "$rate" \
    --duration "${run_duration:-$duration}" --json "$@" "${extra[@]}" > "$out"
}

# passes OUT: whether the run's attainment reached the target (no request submitted counts as a miss).
passes() { [ "$(py "$1" 'r["slo_attainment"] is not None and r["slo_attainment"] >= target')" = True ]; }
# The attainment and what it is out of: a rate decided by three requests is noise (lengthen --duration).
attainment() {
  py "$1" '"%s of %d requests" % ("-" if r["slo_attainment"] is None else "%.1f%%" % (100 * r["slo_attainment"]),
                                   r["requests_submitted"])'
}

# 1. The SLOs, and the first rate's result.
say "calibrating the SLOs on $model at $start_rate requests/s (inference-only, --slo-auto)..."
bench inference-only "$start_rate" "$work/calibration.json" --slo-auto --slo-tpot-factor "$tpot_factor" \
  --slo-ttft-factor "$ttft_factor"
slo_ttft=$(py "$work/calibration.json" 'r["slo_ttft_ms"]')
slo_tpot=$(py "$work/calibration.json" 'r["slo_tpot_ms"]')
say "$(py "$work/calibration.json" '("SLOs: TTFT %.2f ms (%s x unloaded p99 %.2f ms), TPOT %.2f ms (%s x"
  " unloaded p50 %.2f ms)") % (r["slo_ttft_ms"], r["slo_calibration"]["ttft_factor"],
  r["slo_calibration"]["unloaded_ttft_p99_ms"], r["slo_tpot_ms"], r["slo_calibration"]["tpot_factor"],
  r["slo_calibration"]["unloaded_tpot_p50_ms"])')"
slo=(--slo-ttft-ms "$slo_ttft" --slo-tpot-ms "$slo_tpot")

# try RATE: inference-only at RATE under the SLOs; its report in $work/inference-only-RATE.json.
try() {
  local out="$work/inference-only-$1.json"
  [ -f "$out" ] || bench inference-only "$1" "$out" "${slo[@]}"
  say "inference-only at $1 requests/s: attainment $(attainment "$out")"
  passes "$out"
}
cp "$work/calibration.json" "$work/inference-only-$start_rate.json"

# 2. The heaviest rate that passes: lo passes, hi fails (or is the cap).
lo=$start_rate
found=false
for halving in 0 1 2 3; do
  [ "$halving" = 0 ] || lo=$(rate_of "$lo / 2")
  if try "$lo"; then found=true; break; fi
done
if ! $found; then
  say "no rate down to $lo requests/s met ${target} attainment; comparing the policies at $lo"
else
  hi=$(rate_of "$lo * 2")
  while [ "$(py '' "$hi <= $max_rate")" = True ] && try "$hi"; do
    lo=$hi
    hi=$(rate_of "$hi * 2")
  done
  if [ "$(py '' "$hi > $max_rate")" = True ]; then
    say "inference-only met the target up to --max-rate; comparing at $lo"
  else
    for _ in $(seq "$bisect"); do
      mid=$(rate_of "($lo + $hi) / 2")
      if try "$mid"; then lo=$mid; else hi=$mid; fi
    done
  fi
fi
rate=$lo
say "the heaviest rate inference-only serves at >= ${target}: $rate requests/s; running every policy there"

# 3. Every policy at that rate.
cp "$work/inference-only-$rate.json" "$work/run-inference-only.json"
for policy in coserve spatial temporal finetune-only; do
  say "$policy at $rate requests/s..."
  bench "$policy" "$rate" "$work/run-$policy.json" "${slo[@]}"
done

# 4. The lightest rate, for as long as it takes to submit as many requests as the runs at the found rate: a rate
#    judged by one or two requests is noise.
light=$(rate_of "$rate * $light_share")
run_duration=$(rate_of "$duration / $light_share")
for policy in coserve temporal; do
  say "$policy at the lightest rate, $light requests/s for $run_duration s..."
  bench "$policy" "$light" "$work/light-$policy.json" "${slo[@]}"
done

python3 - "$work" <<'EOF'
import json, sys
r = json.load(open(f"{sys.argv[1]}/run-inference-only.json"))
print("%s, Poisson %s requests/s for %s s; SLO: TTFT %.1f ms, TPOT %.2f ms" % (
    r["model"], r["rate"], r["duration_s"], r["slo_ttft_ms"], r["slo_tpot_ms"]))
def cell(value, form):
    return "-" if value is None else form % value
def share(fraction):
    return None if fraction is None else 100 * fraction
rows = [("policy", "rate", "requests", "attainment", "TTFT p99 ms", "TPOT p99 ms", "finetune tok/s",
         "model err p90", "iters over limit", "with finetuning", "over TPOT", "GC pause max ms", "alloc MB/s")]
runs = [f"run-{p}" for p in ["inference-only", "coserve", "spatial", "temporal", "finetune-only"]]
for run in runs + ["light-coserve", "light-temporal"]:
    r = json.load(open(f"{sys.argv[1]}/{run}.json"))
    model, gc = r["latency_model"], r["gc_pauses"]
    rows.append((r["policy"], str(r["rate"]), str(r["requests_submitted"]), cell(share(r["slo_attainment"]), "%.1f%%"),
                 cell(r["ttft_p99_ms"], "%.1f"), cell(r["tpot_p99_ms"], "%.2f"),
                 cell(r["finetune_tokens_per_s"], "%.1f"),
                 cell(share(model["error_p90"]), "%.1f%%"), cell(share(model["over_limit_share"]), "%.1f%%"),
                 cell(share(model["finetune_over_limit_share"]), "%.1f%%"),
                 cell(share(model["over_tpot_share"]), "%.1f%%"), cell(gc["max_ms"], "%.0f"),
                 cell(gc["allocation_mb_per_s"], "%.1f")))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
EOF
