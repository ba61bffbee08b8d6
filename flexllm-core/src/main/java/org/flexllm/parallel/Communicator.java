package org.flexllm.parallel;

import java.lang.foreign.MemorySegment;

/**
 * The collectives a group of tensor-parallel ranks runs together, over f32 buffers where the rank's backend
 * computes. Every rank of the group calls the same collectives in the same order; a call returns when the rank's
 * part is done. Results are deterministic: sums are taken in rank order {@code 0..size-1} whatever the timing, so
 * that every rank gets the same bits and two runs give the same bits.
 *
 * <p>No call waits forever: a rank that fails (or does not arrive within the group's deadline) makes every other
 * rank's pending and later collectives throw {@link CollectiveFailedException} carrying that rank's cause.
 */
public interface Communicator {
    /** This rank, {@code 0 ≤ rank < size}. */
    int rank();

    /** Ranks in the group. */
    int size();

    /** In place: every rank's first {@code count} floats become {@code Σ_r buffer_r}, summed in rank order. */
    void allReduce(MemorySegment buffer, long count);

    /** {@code recv} becomes every rank's {@code count} floats of {@code send}, rank 0's first. */
    void allGather(MemorySegment send, long count, MemorySegment recv);

    /**
     * {@code recv} ({@code count} floats) becomes this rank's share of the sum: floats
     * {@code [rank·count, (rank+1)·count)} of {@code Σ_r send_r}, summed in rank order.
     */
    void reduceScatter(MemorySegment send, MemorySegment recv, long count);

    /** Returns when every rank has called it. */
    void barrier();

    /**
     * Marks the group failed with {@code cause}: every rank's pending and later collectives throw. A rank calls it
     * when it cannot reach the next collective (its own work failed), so that the others do not wait for it.
     */
    void abort(Throwable cause);
}
