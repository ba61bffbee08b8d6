package org.flexllm.parallel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * Ranks of one process that communicate through shared memory: each collective publishes every rank's buffer,
 * then each rank reduces (or copies) its own share of the elements for all ranks, so no element is written by two
 * threads and every sum runs in rank order. Two barriers per collective; each waits at most the group's deadline.
 */
public final class InProcessGroup {
    private final int size;
    private final long deadlineNanos;
    private final MemorySegment[] sends;
    private final long[] counts;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition tripped = lock.newCondition();
    private final boolean[] arrived;
    private final List<Communicator> ranks;
    private int arrivals;
    private long generation;
    /** The first failure, and the rank that reported it; the group stays failed. */
    private Throwable failure;
    private int failedRank = -1;

    private InProcessGroup(int size, Duration deadline) {
        this.size = size;
        this.deadlineNanos = deadline.toNanos();
        this.sends = new MemorySegment[size];
        this.counts = new long[size];
        this.arrived = new boolean[size];
        this.ranks = IntStream.range(0, size).<Communicator>mapToObj(Rank::new).toList();
    }

    /**
     * A group of {@code size} ranks.
     *
     * @param deadline the longest a rank waits in a collective for the others (their compute between two
     *                 collectives must fit in it)
     */
    public static InProcessGroup of(int size, Duration deadline) {
        if (size < 1) {
            throw new IllegalArgumentException("a group needs at least one rank, not " + size);
        }
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("the collective deadline must be positive, not " + deadline);
        }
        return new InProcessGroup(size, deadline);
    }

    /** The communicator of rank {@code r}, to be used by one thread at a time. */
    public Communicator rank(int r) {
        return ranks.get(r);
    }

    public int size() {
        return size;
    }

    private final class Rank implements Communicator {
        private final int rank;

        Rank(int rank) {
            this.rank = rank;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public void allReduce(MemorySegment buffer, long count) {
            publish("allReduce", buffer, count);
            long from = share(count, rank);
            long to = share(count, rank + 1);
            for (long i = from; i < to; i++) {
                float sum = sends[0].getAtIndex(JAVA_FLOAT, i);
                for (int r = 1; r < size; r++) {
                    sum += sends[r].getAtIndex(JAVA_FLOAT, i);
                }
                for (int r = 0; r < size; r++) {
                    sends[r].setAtIndex(JAVA_FLOAT, i, sum);
                }
            }
            await("allReduce");
        }

        @Override
        public void allGather(MemorySegment send, long count, MemorySegment recv) {
            publish("allGather", send, count);
            long bytes = count * Float.BYTES;
            for (int r = 0; r < size; r++) {
                MemorySegment.copy(sends[r], 0, recv, r * bytes, bytes);
            }
            await("allGather");
        }

        @Override
        public void reduceScatter(MemorySegment send, MemorySegment recv, long count) {
            publish("reduceScatter", send, count);
            long offset = rank * count;
            for (long i = 0; i < count; i++) {
                float sum = sends[0].getAtIndex(JAVA_FLOAT, offset + i);
                for (int r = 1; r < size; r++) {
                    sum += sends[r].getAtIndex(JAVA_FLOAT, offset + i);
                }
                recv.setAtIndex(JAVA_FLOAT, i, sum);
            }
            await("reduceScatter");
        }

        @Override
        public void barrier() {
            await("barrier");
        }

        @Override
        public void abort(Throwable cause) {
            lock.lock();
            try {
                fail(rank, cause);
            } finally {
                lock.unlock();
            }
        }

        /** Makes this rank's buffers visible to the others and waits until theirs are; all counts must agree. */
        private void publish(String what, MemorySegment send, long count) {
            sends[rank] = send;
            counts[rank] = count;
            await(what);
            for (int r = 0; r < size; r++) {
                if (counts[r] != count) {
                    throw new CollectiveFailedException("rank " + rank + "'s " + what + " of " + count
                            + " floats met rank " + r + "'s of " + counts[r], null);
                }
            }
        }

        private void await(String what) {
            lock.lock();
            try {
                checkFailed(what);
                long started = generation;
                arrived[rank] = true;
                if (++arrivals == size) {
                    arrivals = 0;
                    Arrays.fill(arrived, false);
                    generation++;
                    tripped.signalAll();
                    return;
                }
                long left = deadlineNanos;
                while (generation == started && failure == null) {
                    if (left <= 0) {
                        fail(rank, new TimeoutException("rank " + rank + " waited " + deadlineNanos / 1_000_000
                                + " ms in " + what + " for rank(s) " + missing()));
                        break;
                    }
                    left = tripped.awaitNanos(left);
                }
                if (generation == started) {
                    checkFailed(what);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail(rank, e);
                checkFailed(what);
            } finally {
                lock.unlock();
            }
        }

        private void checkFailed(String what) {
            if (failure != null) {
                throw new CollectiveFailedException("rank " + rank + "'s " + what + " failed: rank " + failedRank
                        + " reported " + failure, failure);
            }
        }
    }

    /** Under the lock: the first failure wins and wakes every waiter. */
    private void fail(int rank, Throwable cause) {
        if (failure == null) {
            failure = cause;
            failedRank = rank;
        }
        tripped.signalAll();
    }

    private List<Integer> missing() {
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (!arrived[r]) {
                missing.add(r);
            }
        }
        return missing;
    }

    /** The first element of rank {@code r}'s share of {@code count} elements. */
    private long share(long count, int r) {
        return count * r / size;
    }
}
