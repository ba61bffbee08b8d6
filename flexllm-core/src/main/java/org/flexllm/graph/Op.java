package org.flexllm.graph;

import java.util.List;

/**
 * A node of the model graph. Ops name the values they read and write, so that compile passes can reason
 * about liveness (buffer planning) and about what a backward pass needs (pruning), and lower themselves
 * onto the backend in {@link #forward}.
 */
public interface Op {
    List<Value> reads();

    List<Value> writes();

    /** Runs the op over the step's batch. */
    void forward(Step step);
}
