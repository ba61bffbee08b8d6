package org.flexllm.peft.train;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.flexllm.FlexLlmException;
import org.flexllm.peft.Adapter;

/**
 * A finetuning job, running on a thread of its own or inside a co-serving engine's iterations
 * ({@link Finetuner#coServe}): progress, loss history, cancel and await, the same for both. Start one with
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
    private final JobRun run;
    private final CompletableFuture<?> ended;

    /**
     * @param ended completes when the job has let go of everything: its thread, if it has one, and its files
     */
    FinetuneJob(JobRun run, CompletableFuture<?> ended) {
        this.run = run;
        this.ended = ended;
    }

    /** Steps this job runs in all (including those done before a resume). */
    public int totalSteps() {
        return run.totalSteps();
    }

    /** The step a resumed job started from (0 for a fresh one). */
    public int firstStep() {
        return run.firstStep();
    }

    /** The steps done so far, oldest first (a snapshot). */
    public List<StepRecord> history() {
        return run.history();
    }

    /**
     * Asks the job to stop before its next sample; it drops the step under way, writes a checkpoint of the last
     * step done and completes as cancelled.
     */
    public void cancel() {
        run.cancel();
    }

    public boolean isDone() {
        return run.result().isDone();
    }

    /** The job's outcome, completing when it ends and its files are written. */
    public CompletableFuture<FinetuneResult> result() {
        return run.result();
    }

    /**
     * Waits for the job to end.
     *
     * @throws CancellationException when it was cancelled (its last checkpoint holds its progress)
     * @throws FlexLlmException      what stopped it, e.g. {@link NanLossException}
     */
    public FinetuneResult await() throws InterruptedException {
        try {
            return run.result().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new FlexLlmException("finetuning failed: " + e.getCause());
        }
    }

    /** Cancels if still running and waits for the job to end and its last checkpoint to be written. */
    @Override
    public void close() throws InterruptedException {
        cancel();
        try {
            ended.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the job's end cannot fail", e);
        }
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
