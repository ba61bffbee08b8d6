package org.flexllm.sampling;

import java.util.List;

/**
 * A token chosen at one position — drawn by the {@link Sampler}, or the prompt's own next token when scoring a
 * prompt — with its log-probability under the raw model distribution (log-softmax of the unmodified logits:
 * no penalty, temperature or filter, as vLLM reports by default), so that the number means the same whatever
 * the request's sampling settings.
 *
 * @param id          the token id
 * @param logprob     its natural-log probability, at most 0
 * @param topLogprobs the most likely tokens at that position, most likely first (ties: lower id first); it may
 *                    or may not contain {@code id}; empty when no alternatives were asked for
 */
public record SampledToken(int id, float logprob, List<TokenLogprob> topLogprobs) {
    public SampledToken {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
