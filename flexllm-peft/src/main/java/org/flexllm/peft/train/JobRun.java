package org.flexllm.peft.train;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import org.flexllm.engine.TrainingSample;
import org.flexllm.engine.TrainingSource;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.train.FinetuneJob.FinetuneResult;

/**
 * One run of a finetuning job, from its first step (0, or a checkpoint's) to its end, as the
 * {@link TrainingSource} that runs it: a co-serving engine inside its iterations, or a standalone job's
 * {@link TrainingLoop} on a thread of its own, takes its samples ({@link Steps}) and reports them completed.
 * Each step goes to the history, the listener and the meters, and every {@code checkpointEvery} steps into a
 * checkpoint. When detached, the run drops the gradients of an unfinished step, leaves a checkpoint of its last
 * completed step (so that every run, cancelled or failed too, can be resumed), writes the final adapter after a
 * finished run, frees its adapter slot and memory, and completes the job's result once its files are written.
 */
final class JobRun implements TrainingSource {
    /**
     * Where a run trains.
     *
     * @param name       the job's name, which tags its meters
     * @param weight     its share of what inference leaves, relative to other jobs'
     * @param slot       the resident adapter slot its samples run on
     * @param meters     where its meters go
     * @param evaluation the held-out loss of the trained adapter, asked once after the last step
     * @param release    frees the slot and the parameters' memory; called once no pass reads them any more
     * @param beforeStep brings the gradients of the tensor-parallel ranks' copies into the parameters, before the
     *                   optimizer reads them (nothing on one device)
     * @param afterStep  brings the stepped parameters into the ranks' copies (nothing on one device)
     */
    record Placement(String name, double weight, int slot, MeterRegistry meters, DoubleSupplier evaluation,
                     Runnable release, Runnable beforeStep, Runnable afterStep) {}

    private final Placement placement;
    private final Adapter adapter;
    private final Steps steps;
    private final JobFiles files;
    private final int checkpointEvery;
    private final int firstStep;
    private final List<StepRecord> history;
    private final Consumer<StepRecord> listener;
    private final Consumer<SavedCheckpoint> checkpoints;
    private final JobMeters meters;
    private final CompletableFuture<FinetuneResult> result = new CompletableFuture<>();
    private volatile boolean cancelled;
    /** The step of the newest checkpoint on disk or queued, -1 for none. */
    private int checkpointed;

    /**
     * @param adapter         the adapter being trained, whose tensors are the parameters' values
     * @param checkpointEvery steps between checkpoints, 0 for none but the last
     * @param history         the records of the steps done before (by the checkpoint resumed from)
     * @param checkpoints     told of each checkpoint once it is on disk, on the thread that wrote it
     */
    JobRun(Placement placement, Adapter adapter, Steps steps, JobFiles files, int checkpointEvery,
           List<StepRecord> history, Consumer<StepRecord> listener, Consumer<SavedCheckpoint> checkpoints) {
        this.placement = placement;
        this.adapter = adapter;
        this.steps = steps;
        this.files = files;
        this.checkpointEvery = checkpointEvery;
        this.firstStep = steps.done();
        this.history = Collections.synchronizedList(new ArrayList<>(history));
        this.listener = listener;
        this.checkpoints = checkpoints;
        this.meters = new JobMeters(placement.meters(), placement.name());
        this.checkpointed = firstStep > 0 ? firstStep : -1;
    }

    @Override
    public String name() {
        return placement.name();
    }

    @Override
    public int adapterSlot() {
        return placement.slot();
    }

    @Override
    public int maxSampleTokens() {
        return steps.maxSampleTokens();
    }

    @Override
    public double weight() {
        return placement.weight();
    }

    @Override
    public TrainingSample next() {
        return steps.next();
    }

    /** @throws NanLossException when the step this sample ends has a loss or gradient that is not finite */
    @Override
    public void completed(TrainingSample sample, double loss) {
        files.rethrowFailure();
        meters.sample(sample.length());
        if (steps.endsStep()) {
            placement.beforeStep().run();
        }
        StepRecord record = steps.completed(sample, loss);
        if (record != null) {
            placement.afterStep().run();
            history.add(record);
            meters.step(record);
            listener.accept(record);
            if (checkpointEvery > 0 && record.step() % checkpointEvery == 0) {
                checkpoint(record.step());
            }
        }
    }

    @Override
    public boolean finished() {
        return steps.allHandedOut();
    }

    @Override
    public boolean stopRequested() {
        return cancelled;
    }

    @Override
    public void detached(Throwable cause) {
        Throwable failure = cause;
        FinetuneResult finished = null;
        try {
            steps.zeroGradients();
            if (checkpointed != steps.done()) {
                checkpoint(steps.done());
            }
            if (cause == null) {
                finished = finish();
            }
        } catch (RuntimeException | Error e) {
            failure = cause == null ? e : suppressing(cause, e);
        } finally {
            meters.close();
            placement.release().run();
        }
        complete(finished, failure);
    }

    /** Queues the final adapter's files and returns the result they complete. */
    private FinetuneResult finish() {
        Adapter trained = files.copy(adapter);
        files.adapter(trained);
        double finalLoss = history.isEmpty() ? Double.NaN : history.getLast().loss();
        return new FinetuneResult(trained, files.output(), steps.total(), finalLoss,
                placement.evaluation().getAsDouble());
    }

    /** Completes the result once the files queued so far are written; a failed write fails a finished run. */
    private void complete(FinetuneResult finished, Throwable failure) {
        files.written().whenComplete((written, writeError) -> {
            Throwable write = writeError instanceof CompletionException c ? c.getCause() : writeError;
            Throwable error = failure == null ? write : write == null ? failure : suppressing(failure, write);
            if (error == null) {
                result.complete(finished);
            } else {
                result.completeExceptionally(error);
            }
        });
    }

    private static Throwable suppressing(Throwable cause, Throwable also) {
        cause.addSuppressed(also);
        return cause;
    }

    private void checkpoint(int step) {
        Path folder = JobCheckpoint.folder(files.output(), step).resolve(JobCheckpoint.ADAPTER_DIR);
        files.checkpoint(step, adapter, steps.optimizer(), history)
                .thenRun(() -> checkpoints.accept(new SavedCheckpoint(step, folder)));
        checkpointed = step;
    }

    /** Lets go of the slot, the memory and the meters of a run that never started (its engine refused it). */
    void abandon() {
        meters.close();
        placement.release().run();
    }

    /** Asks the run to stop: whoever runs it detaches it before its next sample. */
    void cancel() {
        cancelled = true;
    }

    int totalSteps() {
        return steps.total();
    }

    /** The step this run started from (0, or the checkpoint's it resumed from). */
    int firstStep() {
        return firstStep;
    }

    /** The steps done so far, oldest first (a snapshot). */
    List<StepRecord> history() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    CompletableFuture<FinetuneResult> result() {
        return result;
    }
}
