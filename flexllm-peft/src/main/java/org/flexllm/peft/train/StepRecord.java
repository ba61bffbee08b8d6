package org.flexllm.peft.train;

/**
 * One optimizer step of a finetuning job.
 *
 * @param step           1-based step number
 * @param loss           mean cross-entropy over the step's target tokens
 * @param lr             the learning rate the step used
 * @param gradNorm       the global gradient norm before clipping
 * @param tokens         tokens the step's forward passes ran
 * @param tokensPerSecond forward + backward + optimizer throughput of this step
 */
public record StepRecord(int step, double loss, double lr, double gradNorm, int tokens, double tokensPerSecond) {}
