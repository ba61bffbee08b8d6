package org.flexllm.schedule;

/** Predicts how long an iteration takes from its {@link Composition}, and learns from what iterations took. */
public interface LatencyModel {
    /** The predicted latency, in milliseconds. */
    double predictMs(Composition c);

    /**
     * A latency the iteration stays under with high probability: what the scheduler plans against. The prediction
     * itself for a model that knows no better.
     */
    default double boundMs(Composition c) {
        return predictMs(c);
    }

    /** An iteration of this composition took {@code measuredMs}. */
    void observe(Composition c, double measuredMs);

    /** How far the predictions have been from what the iterations took. */
    default Accuracy accuracy() {
        return new Accuracy(0, Double.NaN, Double.NaN, 1);
    }

    /**
     * The model's recent error.
     *
     * @param observations iterations observed so far
     * @param p50Error     the median of |measured − predicted| / measured over recent iterations
     * @param p90Error     its 90th percentile
     * @param margin       what {@link #boundMs} multiplies the prediction by
     */
    record Accuracy(long observations, double p50Error, double p90Error, double margin) {}
}
