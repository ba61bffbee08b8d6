package org.flexllm.examples.bench;

/**
 * How {@code --slo-auto} sets the SLO from an unloaded run: TPOT target = {@code tpot} × its median TPOT, TTFT
 * target = {@code ttft} × its p99 TTFT.
 *
 * @param tpot the TPOT factor
 * @param ttft the TTFT factor
 */
public record SloFactors(double tpot, double ttft) {
    /**
     * @throws IllegalArgumentException naming the option out of range
     */
    public SloFactors {
        if (!(tpot > 0) || !Double.isFinite(tpot)) {
            throw new IllegalArgumentException("--slo-tpot-factor must be a positive number, is " + tpot);
        }
        if (!(ttft > 0) || !Double.isFinite(ttft)) {
            throw new IllegalArgumentException("--slo-ttft-factor must be a positive number, is " + ttft);
        }
    }
}
