package org.flexllm.graph;

import java.util.List;

/**
 * A node of the model graph. Ops name the values they read and write, so that compile passes can reason
 * about liveness (buffer planning) and about what a backward pass needs (pruning), and lower themselves
 * onto the backend in {@link #forward} and {@link #backward}.
 *
 * <p>Values may be updated in place (the residual stream, rotary embedding): a value read by an op means its
 * content just before the op runs.
 */
public interface Op {
    List<Value> reads();

    List<Value> writes();

    /** Runs the op over the step's batch. */
    void forward(Step step);

    /**
     * The values (among {@link #reads()}, as the op read them) its backward needs: gradients of frozen weights
     * are never taken, so a frozen Linear needs nothing.
     */
    default List<Value> saves() {
        return List.of();
    }

    /**
     * Which of {@link #saves()} the forward keeps for the backward when the graph is pruned; the others are
     * rematerialized in the backward by re-running the ops that computed them.
     */
    default List<Value> keeps() {
        return List.of();
    }

    /**
     * Adds the gradients of the op's inputs into {@link Step#grad}, given the gradients of its outputs; the
     * values it {@link #saves()} are at {@link Step#saved}. Ops with trainable parameters add their
     * parameters' gradients too.
     */
    void backward(Step step);

    /** A short name for reports: the op's kind and what distinguishes it from its siblings. */
    default String label() {
        return getClass().getSimpleName();
    }
}
