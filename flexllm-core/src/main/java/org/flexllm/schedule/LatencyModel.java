package org.flexllm.schedule;

/** Predicts how long an iteration takes from its {@link Composition}, and learns from what iterations took. */
public interface LatencyModel {
    /** The predicted latency, in milliseconds. */
    double predictMs(Composition c);

    /** An iteration of this composition took {@code measuredMs}. */
    void observe(Composition c, double measuredMs);
}
