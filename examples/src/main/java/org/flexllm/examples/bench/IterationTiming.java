package org.flexllm.examples.bench;

/**
 * What the latency model predicted for one iteration, what it took, and what the running requests' SLOs allowed.
 *
 * @param predictedMs the latency model's prediction
 * @param measuredMs  the measured latency
 * @param limitMs     the latency the SLOs allowed; infinite when nothing bounded it (no request ran, or a policy
 *                    that plans without the SLOs)
 * @param finetuned   whether it carried finetuning work (a window or a backward slice)
 */
public record IterationTiming(double predictedMs, double measuredMs, double limitMs, boolean finetuned) {
    /** |measured − predicted| / measured: how far off the model was, relative to what happened. */
    public double relativeError() {
        return Math.abs(measuredMs - predictedMs) / measuredMs;
    }

    /** Whether an SLO bounded the iteration. */
    public boolean limited() {
        return Double.isFinite(limitMs);
    }

    /** Whether it took longer than its limit allowed. */
    public boolean overLimit() {
        return limited() && measuredMs > limitMs;
    }
}
