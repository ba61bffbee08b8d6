package org.flexllm.sampling;

/**
 * A token id with its log-probability under the raw model distribution (log-softmax of the logits).
 *
 * @param id      the token id
 * @param logprob natural-log probability, at most 0
 */
public record TokenLogprob(int id, float logprob) {
}
