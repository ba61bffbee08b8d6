package org.flexllm.engine;

import org.flexllm.schedule.Composition;

/**
 * One row of the iteration trace: what an iteration computed, what the latency model predicted, what it took.
 *
 * @param index             iterations since the engine started
 * @param startMs           when it started, in milliseconds of the engine's clock since the engine started
 * @param composition       its decode, prefill, finetuning forward and backward work
 * @param predictedMs       the latency model's prediction
 * @param boundMs           the latency the scheduler planned it to stay under (the prediction times the model's
 *                          margin)
 * @param measuredMs        what it took
 * @param limitMs           the latency the SLOs of the running requests allowed (infinite when none ran)
 * @param finetuneCompleted tokens of finetuning samples whose backward completed in it
 * @param finetuneWaiting   finetuning jobs that had work but got none: nothing of theirs fit within the limit
 */
public record IterationRecord(long index, double startMs, Composition composition, double predictedMs,
                              double boundMs, double measuredMs, double limitMs, int finetuneCompleted,
                              int finetuneWaiting) {
    /** |measured − predicted| / measured: the latency model's relative error on this iteration. */
    public double relativeError() {
        return measuredMs > 0 ? Math.abs(measuredMs - predictedMs) / measuredMs : 0;
    }

    /** Whether it took longer than the SLOs of its requests allowed. */
    public boolean overLimit() {
        return measuredMs > limitMs;
    }

    /** Whether the iteration carried finetuning work: a forward window or a backward slice. */
    public boolean finetuned() {
        return composition.finetuneTokens() > 0 || composition.backwardLayers() > 0;
    }
}
