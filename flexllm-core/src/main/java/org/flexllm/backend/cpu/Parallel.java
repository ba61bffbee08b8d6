package org.flexllm.backend.cpu;

/**
 * Data-parallel loops for the CPU kernels: {@link #forRange} splits {@code [0, n)} into chunks that the
 * calling thread and a fixed pool of daemon workers claim one at a time, so a core slowed by another
 * process simply takes fewer chunks.
 *
 * <p>The pool size is {@code flexllm.threads} (default: available processors), counting the caller.
 * A call made while the pool is busy (from another thread, or from inside a body) runs inline on the
 * calling thread, so concurrent and nested use is safe.
 *
 * <p>So the split of a range depends on the pool size and on what else runs: a body's results must not. Each index
 * is computed the same way in any chunk (a vector loop's scalar tail does the lanes' operations in the lanes'
 * order), and nothing sums across the indices of a chunk; a finetuning run then writes the same adapter bytes with
 * any number of threads.
 */
public final class Parallel {
    /** Work over a half-open range of indices {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Chunks per thread: enough to rebalance when a core is busy elsewhere, few enough to stay cheap. */
    private static final int CHUNKS_PER_THREAD = 8;

    private static final int THREADS = threadCount();
    private static final WorkerPool POOL = THREADS > 1 ? new WorkerPool(THREADS - 1) : null;

    private Parallel() {}

    /** Threads that run a {@link #forRange} body, the caller included. */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in chunks across the pool and returns when all are done.
     * An exception thrown by a chunk is rethrown here after the other chunks finished.
     */
    public static void forRange(int n, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(n, THREADS * CHUNKS_PER_THREAD);
        if (POOL == null || chunks == 1 || !POOL.tryRun(n, chunks, body)) {
            body.run(0, n);
        }
    }

    private static int threadCount() {
        int threads = Integer.getInteger("flexllm.threads", Runtime.getRuntime().availableProcessors());
        if (threads < 1) {
            throw new IllegalArgumentException("system property flexllm.threads must be at least 1, was " + threads);
        }
        return threads;
    }
}
