package org.flexllm.examples.bench;

import org.flexllm.api.GenerationResult;
import org.flexllm.api.Slo;

/**
 * What became of one submitted request. A request that did not complete (cancelled at the end of the run) has
 * no timings and misses its SLO.
 *
 * @param arrivalS  when it was submitted, in seconds after the start of the run
 * @param completed whether it generated all its tokens
 * @param sloMet    whether it completed within its TTFT and TPOT targets
 * @param ttftMs    time to first token (NaN when not completed)
 * @param tpotMs    mean time per output token after the first (NaN when not completed)
 * @param generated tokens generated (0 when not completed)
 * @param slo       the targets it ran under
 */
public record RequestOutcome(double arrivalS, boolean completed, boolean sloMet, double ttftMs, double tpotMs,
                             int generated, Slo slo) {
    public RequestOutcome {
        if (sloMet && !completed) {
            throw new IllegalArgumentException("a request that did not complete cannot have met its SLO");
        }
    }

    /** A request that completed with {@code result}. */
    public static RequestOutcome of(double arrivalS, GenerationResult result) {
        return new RequestOutcome(arrivalS, true, result.sloMet(), result.timings().ttftMs(),
                result.timings().tpotMs(), result.ids().size(), result.slo());
    }

    /** A request under {@code slo} cancelled before it completed. */
    public static RequestOutcome missed(double arrivalS, Slo slo) {
        return new RequestOutcome(arrivalS, false, false, Double.NaN, Double.NaN, 0, slo);
    }
}
