package org.flexllm.engine;

/**
 * A finetuning job as the iteration loop sees it: a source of samples whose forward windows and backward
 * slices the scheduler spreads over iterations. The PEFT module implements it; core never sees optimizers or
 * datasets. Every method is called on the engine thread, between forward passes, so a job may update its
 * adapter's parameters in {@link #completed} without racing a pass that reads them.
 *
 * <p>A job has at most two samples in flight: one in its forward windows and one in its backward slices. The
 * engine asks {@link #next} for a sample whenever none is in its forward; a job returns null to wait (when the
 * next sample belongs to the next optimizer step, whose parameters do not exist yet). Samples complete in the
 * order they were handed out.
 */
public interface TrainingSource {
    /** The job's name, for metrics and the iteration trace. */
    String name();

    /** The resident adapter slot holding the parameters being trained (and their gradients). */
    int adapterSlot();

    /** The most tokens a sample of this job has: the engine keeps room for that many on the job's tapes. */
    int maxSampleTokens();

    /** The job's share of what inference leaves, relative to the other jobs' (1 for an equal share). */
    double weight();

    /** The next sample to start, or null when there is none to start now. */
    TrainingSample next();

    /**
     * A sample's forward and backward are done: its gradients are added into the parameters' gradients. The job
     * steps its optimizer when the step's last sample completes. A throw (a non-finite loss, say) stops the job.
     *
     * @param loss the sample's weighted loss
     */
    void completed(TrainingSample sample, double loss);

    /** Whether the job has handed out its last sample; once those complete the engine detaches it. */
    boolean finished();

    /** Whether the job asks to stop now: samples in flight are dropped and it is detached. */
    boolean stopRequested();

    /**
     * The engine detached the job; called exactly once, the last call. Samples in flight were dropped, their
     * gradients partly added: the job discards gradients of an unfinished step.
     *
     * @param cause null when the job finished, a {@link java.util.concurrent.CancellationException} when it was
     *              stopped or the engine closed, else what failed
     */
    void detached(Throwable cause);
}
