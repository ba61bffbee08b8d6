package org.flexllm.peft.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.flexllm.FlexLlmException;
import org.flexllm.peft.Adapter;

/**
 * A finetuning job running on its own thread: progress, loss history, cancel and await. Start one with
 * {@link Finetuner}.
 *
 * <pre>{@code
 * try (FinetuneJob job = Finetuner.builder().model("synthetic:tiny").data(examples).options(options)
 *         .output(Path.of("out/adapter")).onStep(s -> System.out.println(s.loss())).start()) {
 *     FinetuneResult result = job.await();
 * }
 * }</pre>
 */
public final class FinetuneJob implements AutoCloseable {
    private final List<StepRecord> history = Collections.synchronizedList(new ArrayList<>());
    private final CompletableFuture<FinetuneResult> result = new CompletableFuture<>();
    private final int totalSteps;
    private final int firstStep;
    private volatile boolean cancelled;
    private final Thread thread;

    FinetuneJob(TrainingLoop loop, JobRun run, Consumer<StepRecord> listener) {
        this.totalSteps = loop.totalSteps();
        this.firstStep = run.firstStep();
        history.addAll(run.history());
        this.thread = Thread.ofPlatform().name("flexllm-finetune").unstarted(() -> {
            try (loop) {
                result.complete(run.execute(loop, this::stopRequested, record -> {
                    history.add(record);
                    listener.accept(record);
                }));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        thread.start();
    }

    private boolean stopRequested() {
        return cancelled;
    }

    /** Steps this job runs in all (including those done before a resume). */
    public int totalSteps() {
        return totalSteps;
    }

    /** The step a resumed job started from (0 for a fresh one). */
    public int firstStep() {
        return firstStep;
    }

    /** The steps done so far, oldest first (a snapshot). */
    public List<StepRecord> history() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    /** Asks the job to stop after the current step; it writes a checkpoint and completes as cancelled. */
    public void cancel() {
        cancelled = true;
    }

    public boolean isDone() {
        return result.isDone();
    }

    /** The job's outcome, completing when it ends. */
    public CompletableFuture<FinetuneResult> result() {
        return result;
    }

    /**
     * Waits for the job to end.
     *
     * @throws CancellationException when it was cancelled (its last checkpoint holds its progress)
     * @throws FlexLlmException      what stopped it, e.g. {@link NanLossException}
     */
    public FinetuneResult await() throws InterruptedException {
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new FlexLlmException("finetuning failed: " + e.getCause());
        }
    }

    /** Cancels if still running and waits for the thread to finish writing its checkpoint. */
    @Override
    public void close() throws InterruptedException {
        cancel();
        thread.join();
    }

    /**
     * How a job ended.
     *
     * @param adapter    the trained adapter (its folder is {@code output})
     * @param output     where it was written
     * @param steps      optimizer steps done in all
     * @param finalLoss  the last step's loss
     * @param evalLoss   the loss on the held-out examples, or NaN when there were none
     */
    public record FinetuneResult(Adapter adapter, Path output, int steps, double finalLoss, double evalLoss) {}
}
