package org.flexllm.schedule;

import java.util.List;

/**
 * What one iteration computes.
 *
 * @param chunks    the scheduled token chunks, decodes first
 * @param preempted sequences evicted from the KV cache this iteration (they will be recomputed later)
 * @param rejected  sequences that cannot run even with the whole KV cache to themselves
 */
public record IterationPlan(List<ScheduledChunk> chunks, List<Sequence> preempted, List<Rejection> rejected) {
    /** No inference at all. */
    public static final IterationPlan EMPTY = new IterationPlan(List.of(), List.of(), List.of());

    public IterationPlan {
        chunks = List.copyOf(chunks);
        preempted = List.copyOf(preempted);
        rejected = List.copyOf(rejected);
    }

    /** A sequence the scheduler gave up on, and why. */
    public record Rejection(Sequence sequence, String reason) {}
}
