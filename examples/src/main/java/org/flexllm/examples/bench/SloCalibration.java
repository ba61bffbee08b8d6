package org.flexllm.examples.bench;

import java.util.Locale;
import org.flexllm.api.Slo;

/**
 * The SLO of {@code --slo-auto}, set from a run of the same workload unloaded: inference only (no finetuning job)
 * and no targets to keep, the paper's way of deriving targets from the latency the hardware gives when nothing
 * competes with the requests. The TPOT target is a factor times the median per-request TPOT of that run, the TTFT
 * target a factor times its p99 TTFT (a median would put every queueing request's first token over target).
 *
 * @param durationS         how long the unloaded run's requests arrived
 * @param requestsCompleted its requests that completed
 * @param unloadedTpotP50Ms    their median TPOT (requests of two tokens or more)
 * @param unloadedTtftP99Ms their p99 TTFT
 * @param tpotFactor        the TPOT target over {@code unloadedTpotP50Ms}
 * @param ttftFactor        the TTFT target over {@code unloadedTtftP99Ms}
 * @param sloTpotMs         the TPOT target: {@code tpotFactor × unloadedTpotP50Ms}
 * @param sloTtftMs         the TTFT target: {@code ttftFactor × unloadedTtftP99Ms}
 */
public record SloCalibration(double durationS, int requestsCompleted, double unloadedTpotP50Ms,
                             double unloadedTtftP99Ms, double tpotFactor, double ttftFactor, double sloTpotMs,
                             double sloTtftMs) {
    /**
     * The unloaded run lasts as long as the requested one up to this: a full-length calibration would double a
     * long bench, and 30 s of arrivals (the requested run's first ones) give enough requests for a median TPOT at
     * any rate worth co-serving at, and a p99 TTFT that the longest of them decides at low rates.
     */
    public static final int MAX_DURATION_S = 30;
    /** Targets no request misses (an hour to the first token, a minute a token): the unloaded run keeps none. */
    public static final Slo NONE = new Slo(3_600_000, 60_000);

    /**
     * Runs {@code config}'s workload unloaded and sets the SLO from it.
     *
     * @throws IllegalStateException when the unloaded run completed no request of two tokens or more
     */
    public static SloCalibration measure(CoserveConfig config, SloFactors factors) throws InterruptedException {
        CoserveConfig unloaded = config.unloaded(NONE, MAX_DURATION_S);
        CoserveReport r = CoserveReport.of(unloaded, CoserveHarness.run(unloaded));
        if (r.tpotP50Ms() == null || r.ttftP99Ms() == null) {
            throw new IllegalStateException("--slo-auto: the unloaded run of " + unloaded.durationS() + " s completed"
                    + " no request of two tokens or more to measure; give a higher --rate, a longer --duration or"
                    + " --output-len, or the targets (--slo-ttft-ms, --slo-tpot-ms)");
        }
        return new SloCalibration(unloaded.durationS(), r.requestsCompleted(), r.tpotP50Ms(), r.ttftP99Ms(),
                factors.tpot(), factors.ttft(), factors.tpot() * r.tpotP50Ms(), factors.ttft() * r.ttftP99Ms());
    }

    /** The targets chosen. */
    public Slo slo() {
        return new Slo(sloTtftMs, sloTpotMs);
    }

    /** In words, for the report's table: what the unloaded run measured and the targets chosen from it. */
    public String text() {
        return String.format(Locale.ROOT, "unloaded (inference-only, %.1f s, %d requests): TPOT p50 %.2f ms, TTFT"
                        + " p99 %.2f ms; TPOT SLO %s x %.2f = %.2f ms, TTFT SLO %s x %.2f = %.2f ms", durationS,
                requestsCompleted, unloadedTpotP50Ms, unloadedTtftP99Ms, tpotFactor, unloadedTpotP50Ms, sloTpotMs,
                ttftFactor, unloadedTtftP99Ms, sloTtftMs);
    }
}
