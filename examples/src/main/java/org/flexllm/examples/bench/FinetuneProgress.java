package org.flexllm.examples.bench;

/**
 * An iteration in which finetuning samples completed their backward.
 *
 * @param atS    when the iteration ended, in seconds after the start of the run
 * @param tokens the completed samples' tokens
 */
public record FinetuneProgress(double atS, int tokens) {}
