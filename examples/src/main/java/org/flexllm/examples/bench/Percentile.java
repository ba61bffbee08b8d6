package org.flexllm.examples.bench;

import com.google.common.math.Quantiles;

/** Percentiles as NumPy computes them by default: linear interpolation between the nearest ranks. */
final class Percentile {
    private Percentile() {}

    /** The {@code p}th percentile of {@code values}, or null when there are none. */
    static Double of(double[] values, int p) {
        return values.length == 0 ? null : Quantiles.percentiles().index(p).compute(values);
    }
}
