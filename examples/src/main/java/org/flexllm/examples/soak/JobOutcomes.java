package org.flexllm.examples.soak;

import org.flexllm.peft.train.FinetuneJob;

/**
 * The co-served finetuning of a soak: how the job with the injected NaN ended, and the steps and first and last
 * loss of the job that trained on afterwards.
 */
public record JobOutcomes(String nanJob, int steps, double firstLoss, double lastLoss) {
    static final JobOutcomes NONE = new JobOutcomes("none", 0, Double.NaN, Double.NaN);

    static String describe(FinetuneJob job) {
        return job.result().handle((r, e) -> e == null ? "finished without a NaN"
                : "stopped: " + (e.getCause() != null ? e.getCause() : e)).join();
    }
}
