/**
 * Token sampling: per-request {@link org.flexllm.sampling.SamplingParams} (after vLLM's), the
 * {@link org.flexllm.sampling.Sampler} that turns a logits row into the next token, per-request random streams
 * ({@link org.flexllm.sampling.RandomSource}), and log-probabilities of raw logits
 * ({@link org.flexllm.sampling.Logprobs}) for generated tokens, prompt tokens and scoring.
 */
package org.flexllm.sampling;
