package org.flexllm.parallel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntConsumer;

/**
 * The threads of a group's ranks: rank 0 runs on the caller, every other rank on a thread of its own, so that a
 * rank's kernels and collectives always run on the same thread. A rank whose work throws aborts the group, so the
 * others fail out of their next collective instead of waiting for it.
 */
public final class RankThreads implements AutoCloseable {
    private final List<Communicator> communicators;
    private final List<ExecutorService> threads = new ArrayList<>();
    private final Duration deadline;

    /**
     * @param communicators one per rank, rank order
     * @param deadline      the longest one rank's share of a {@link #run} may take beyond the caller's
     */
    public RankThreads(List<Communicator> communicators, Duration deadline) {
        this.communicators = List.copyOf(communicators);
        this.deadline = deadline;
        for (int r = 1; r < communicators.size(); r++) {
            String name = "flexllm-rank-" + r;
            threads.add(Executors.newSingleThreadExecutor(task -> {
                Thread t = new Thread(task, name);
                t.setDaemon(true);
                return t;
            }));
        }
    }

    public int size() {
        return communicators.size();
    }

    /**
     * Runs {@code work.accept(r)} on every rank's thread and returns when all are done. When any fails, every rank
     * is waited for and the root failure is thrown: the first (by rank) that is not another rank's collective
     * failing because of it.
     */
    public void run(IntConsumer work) {
        List<Future<?>> others = new ArrayList<>(threads.size());
        for (int r = 1; r < size(); r++) {
            int rank = r;
            others.add(threads.get(r - 1).submit(() -> runRank(rank, work)));
        }
        List<RuntimeException> failures = new ArrayList<>();
        try {
            runRank(0, work);
        } catch (RuntimeException e) {
            failures.add(e);
        }
        for (Future<?> f : others) {
            await(f, failures);
        }
        if (!failures.isEmpty()) {
            throw rootCause(failures);
        }
    }

    private void runRank(int rank, IntConsumer work) {
        try {
            work.accept(rank);
        } catch (RuntimeException | Error e) {
            communicators.get(rank).abort(e);
            throw e;
        }
    }

    private void await(Future<?> f, List<RuntimeException> failures) {
        try {
            f.get(deadline.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            failures.add(e.getCause() instanceof RuntimeException r ? r
                    : new CollectiveFailedException("a rank failed: " + e.getCause(), e.getCause()));
        } catch (TimeoutException e) {
            CollectiveFailedException late = new CollectiveFailedException("a rank did not finish within "
                    + deadline.toMillis() + " ms", e);
            communicators.getFirst().abort(late);
            failures.add(late);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            communicators.getFirst().abort(e);
            failures.add(new CollectiveFailedException("interrupted while waiting for the ranks", e));
        }
    }

    private static RuntimeException rootCause(List<RuntimeException> failures) {
        return failures.stream().filter(e -> !(e instanceof CollectiveFailedException)).findFirst()
                .orElse(failures.getFirst());
    }

    @Override
    public void close() {
        threads.forEach(ExecutorService::shutdownNow);
    }
}
