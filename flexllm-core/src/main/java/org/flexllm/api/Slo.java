package org.flexllm.api;

/**
 * A request's latency targets: time to first token and mean time per output token after it. A request
 * meets its SLO when both hold; the co-serving scheduler sizes every iteration so that the running requests
 * keep theirs, and gives finetuning only what is left.
 *
 * @param ttftMs time to first token, in milliseconds, from submission
 * @param tpotMs mean time per output token after the first, in milliseconds
 */
public record Slo(double ttftMs, double tpotMs) {
    public Slo {
        if (!(ttftMs > 0) || !(tpotMs > 0)) {
            throw new IllegalArgumentException("SLO targets must be positive milliseconds, were TTFT " + ttftMs
                    + " and TPOT " + tpotMs);
        }
    }

    /** Whether a request with these timings met the targets. */
    public boolean metBy(Timings t) {
        return t.ttftMs() <= ttftMs && t.tpotMs() <= tpotMs;
    }
}
