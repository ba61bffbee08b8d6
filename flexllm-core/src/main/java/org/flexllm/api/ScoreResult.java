package org.flexllm.api;

import java.util.List;
import org.flexllm.sampling.SampledToken;

/**
 * Log-probabilities of a given token sequence under the model.
 *
 * @param ids      the scored tokens
 * @param logprobs per token, {@code log P(ids[t] | ids[<t])} with its most likely alternatives; entry 0 is null
 */
public record ScoreResult(List<Integer> ids, List<SampledToken> logprobs) {}
