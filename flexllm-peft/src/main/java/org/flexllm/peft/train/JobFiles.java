package org.flexllm.peft.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.flexllm.backend.Backend;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.tensor.Tensor;

/**
 * Writes a job's checkpoints and final adapter, in the order asked, on a thread of their own, from copies taken
 * when asked: training (maybe on a co-serving engine's thread, which inference waits on) goes on while the disk
 * works. A failed write fails every later one; {@link #rethrowFailure} reports it to the training side.
 */
final class JobFiles {
    private static final Executor WRITER = task -> Thread.ofVirtual().name("flexllm-checkpoint").start(task);

    private final Path output;
    private final long seed;
    private final Backend backend;
    private CompletableFuture<Void> writes = CompletableFuture.completedFuture(null);

    /**
     * @param output the adapter's folder; checkpoints go to its {@code checkpoint-N} subfolders
     * @param seed    the job's seed, saved with each checkpoint
     * @param backend where the adapter's parameters and the optimizer's state are, copied from there to be written
     */
    JobFiles(Path output, long seed, Backend backend) {
        this.output = output;
        this.seed = seed;
        this.backend = backend;
    }

    Path output() {
        return output;
    }

    /**
     * Queues {@code OUT/checkpoint-STEP}: the adapter and optimizer as they are now, and the steps' history. The
     * copies are freed as soon as they are written, not whenever the garbage collector gets to them.
     *
     * @return completes when the checkpoint is on disk
     */
    CompletableFuture<Void> checkpoint(int step, Adapter adapter, Optimizer optimizer, List<StepRecord> history) {
        Arena snapshot = Arena.ofShared();
        Adapter weights = copy(adapter, snapshot);
        Collection<Tensor> state = optimizer.state(snapshot).values();
        var trainer = new JobCheckpoint.TrainerState(step, optimizer.steps(), seed, List.copyOf(history));
        CompletableFuture<Void> written = then(() -> JobCheckpoint.write(output, step, weights, state, trainer));
        written.whenComplete((v, e) -> snapshot.close());
        return written;
    }

    /**
     * Queues the adapter's two files into the output folder, each replaced atomically; the config first, as it
     * is the same for the whole job, so that a crash between the two leaves a consistent adapter.
     *
     * @param adapter a host copy the caller does not change (as {@link #copy(Adapter)} makes)
     */
    void adapter(Adapter adapter) {
        then(() -> {
            try {
                Files.createDirectories(output);
                adapter.config().write(output);
                SafetensorsWriter.write(output.resolve(AdapterFolder.WEIGHTS_FILE), adapter.tensors().values());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the adapter to " + output, e);
            }
        });
    }

    /** Completes when every write queued so far is done, or fails with the first write that failed. */
    CompletableFuture<Void> written() {
        return writes;
    }

    /** Throws what made a write fail, if one did. */
    void rethrowFailure() {
        if (writes.isCompletedExceptionally()) {
            try {
                writes.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
    }

    /** Queues a write after the others; returns it. */
    private CompletableFuture<Void> then(Runnable write) {
        writes = writes.thenRunAsync(write, WRITER);
        return writes;
    }

    /**
     * A host copy of an adapter whose tensors are on the backend, in memory of its own which the garbage collector
     * frees: a job's result.
     */
    Adapter copy(Adapter adapter) {
        return copy(adapter, Arena.ofAuto());
    }

    private Adapter copy(Adapter adapter, Arena host) {
        SequencedMap<String, Tensor> copies = new LinkedHashMap<>();
        adapter.tensors().forEach((key, t) -> {
            long count = t.shape().elements();
            MemorySegment copy = host.allocate(count * Float.BYTES, Float.BYTES);
            backend.download(t.data(), copy, count);
            copies.put(key, new Tensor(t.name(), t.dtype(), t.shape(), copy));
        });
        return new Adapter(adapter.config(), copies);
    }
}
