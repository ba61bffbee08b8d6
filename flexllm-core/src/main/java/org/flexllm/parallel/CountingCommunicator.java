package org.flexllm.parallel;

import java.lang.foreign.MemorySegment;

/**
 * A communicator that counts the collectives and the floats its rank sends through another: what the plan
 * promises (e.g. that a bypass adds no forward collective) checked on a real pass, and the bytes per token
 * measured. Used by one rank's thread at a time, like the communicator it wraps.
 */
public final class CountingCommunicator implements Communicator {
    private final Communicator inner;
    private long calls;
    private long floats;

    public CountingCommunicator(Communicator inner) {
        this.inner = inner;
    }

    /** Collectives (but barriers) called so far. */
    public long calls() {
        return calls;
    }

    /** Floats this rank contributed to them. */
    public long floats() {
        return floats;
    }

    public void reset() {
        calls = 0;
        floats = 0;
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public void allReduce(MemorySegment buffer, long count) {
        count(count);
        inner.allReduce(buffer, count);
    }

    @Override
    public void allGather(MemorySegment send, long count, MemorySegment recv) {
        count(count);
        inner.allGather(send, count, recv);
    }

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, long count) {
        count(count * inner.size());
        inner.reduceScatter(send, recv, count);
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public void abort(Throwable cause) {
        inner.abort(cause);
    }

    private void count(long n) {
        calls++;
        floats += n;
    }
}
