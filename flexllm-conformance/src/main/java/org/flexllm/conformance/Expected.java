package org.flexllm.conformance;

/**
 * Expected outputs computed in double, each with the magnitude of the terms it was summed from, so that a
 * backend's result is judged relative to the size of what it added up ({@code |actual − value| ≤ tol · scale}),
 * not to a result that cancelled to near zero.
 */
final class Expected {
    private final double[] value;
    private final double[] scale;

    Expected(int count) {
        value = new double[count];
        scale = new double[count];
    }

    /** Adds one term to element {@code i}. */
    void add(int i, double term) {
        value[i] += term;
        scale[i] += Math.abs(term);
    }

    /** Adds one term whose own rounding is bounded by {@code magnitude} rather than by its size. */
    void add(int i, double term, double magnitude) {
        value[i] += term;
        scale[i] += magnitude;
    }

    /** Sets element {@code i} to a single computed value. */
    void set(int i, double v) {
        value[i] = v;
        scale[i] = Math.abs(v);
    }

    double value(int i) {
        return value[i];
    }

    int size() {
        return value.length;
    }

    /** Fails on the first element off by more than {@code tol} relative to its terms' magnitude. */
    void assertMatches(float[] actual, double tol, String what) {
        if (actual.length < value.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + value.length);
        }
        for (int i = 0; i < value.length; i++) {
            double bound = tol * Math.max(scale[i], Float.MIN_NORMAL);
            if (!(Math.abs(actual[i] - value[i]) <= bound)) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + value[i]
                        + " ± " + bound + " (tolerance " + tol + " of the terms' magnitude " + scale[i] + ")");
            }
        }
    }
}
