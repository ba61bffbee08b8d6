package org.flexllm.backend.cpu;

import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The fork/join behind {@link Parallel}: one job at a time, published through a single atomic ticket
 * (job generation in the high 32 bits, next unclaimed chunk in the low 32). Claiming a chunk is a CAS on
 * the ticket, so a worker that wakes late can never run a chunk of a job other than the one it read, and
 * the caller never waits for a worker that has not started: it only waits until every chunk is done.
 * Workers spin briefly between jobs (the forward pass issues them back to back) and then park.
 */
final class WorkerPool {
    /** How long an idle worker spins before parking; longer than the gaps between a layer's kernels. */
    private static final long SPIN_NANOS = 200_000;

    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicLong ticket = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private final Worker[] workers;

    // The current job. Written before the ticket publishes it; read only while holding a claimable ticket.
    private Parallel.RangeBody body;
    private int n;
    private int chunks;
    private volatile Throwable failure;

    WorkerPool(int size) {
        workers = new Worker[size];
        for (int i = 0; i < size; i++) {
            workers[i] = new Worker(i);
            workers[i].start();
        }
    }

    /** Runs the job with the caller taking chunks too; false (running nothing) when the pool is busy. */
    boolean tryRun(int n, int chunks, Parallel.RangeBody body) {
        if (!busy.compareAndSet(false, true)) {
            return false;
        }
        try {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            failure = null;
            done.set(0);
            long generation = (ticket.get() >>> 32) + 1;
            ticket.set(generation << 32);
            for (Worker worker : workers) {
                if (worker.parked) {
                    LockSupport.unpark(worker);
                }
            }
            runChunks(generation);
            while (done.get() < chunks) {
                Thread.onSpinWait();
            }
            // Retire the ticket before the next job rewrites body/n/chunks: a worker that read this job's
            // ticket but sees the next job's fields then fails its CAS instead of running a chunk of neither.
            ticket.set(generation << 32 | Integer.MAX_VALUE);
            this.body = null;
            rethrow(failure);
            return true;
        } finally {
            busy.set(false);
        }
    }

    private void runChunks(long generation) {
        while (true) {
            long t = ticket.get();
            int chunk = (int) t;
            if (t >>> 32 != generation || chunk >= chunks) {
                return;
            }
            Parallel.RangeBody job = body;
            int total = n;
            int count = chunks;
            if (!ticket.compareAndSet(t, t + 1)) {
                continue;
            }
            try {
                job.run((int) ((long) chunk * total / count), (int) ((long) (chunk + 1) * total / count));
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                }
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private static void rethrow(Throwable failure) {
        switch (failure) {
            case null -> {}
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new CompletionException(failure);
        }
    }

    private final class Worker extends Thread {
        volatile boolean parked;

        Worker(int index) {
            super("flexllm-cpu-" + (index + 1));
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                seen = awaitJob(seen);
                runChunks(seen);
            }
        }

        /** The generation of the next job after {@code seen}: spin for a while, then park. */
        private long awaitJob(long seen) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (true) {
                long generation = ticket.get() >>> 32;
                if (generation != seen) {
                    return generation;
                }
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                    continue;
                }
                // Publishing parked before re-reading the ticket pairs with tryRun's write-then-check.
                parked = true;
                if (ticket.get() >>> 32 == seen) {
                    LockSupport.park(this);
                }
                parked = false;
            }
        }
    }
}
