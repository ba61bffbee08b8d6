package org.flexllm.engine;

import org.flexllm.schedule.Composition;

/**
 * One row of the iteration trace: what an iteration computed, what the latency model predicted, what it took.
 *
 * @param index             iterations since the engine started
 * @param startMs           when it started, in milliseconds of the engine's clock since the engine started
 * @param composition       its decode, prefill, finetuning forward and backward work
 * @param backwardLayers    layers of its backward slice (0 for none)
 * @param predictedMs       the latency model's prediction
 * @param measuredMs        what it took
 * @param limitMs           the latency the SLOs of the running requests allowed (infinite when none ran)
 * @param finetuneCompleted tokens of finetuning samples whose backward completed in it
 */
public record IterationRecord(long index, double startMs, Composition composition, int backwardLayers,
                              double predictedMs, double measuredMs, double limitMs, int finetuneCompleted) {}
