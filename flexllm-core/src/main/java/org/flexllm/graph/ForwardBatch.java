package org.flexllm.graph;

import org.flexllm.backend.AttentionBatch;

/**
 * One iteration's flat batch: the tokens of every scheduled sequence chunk, back to back.
 *
 * @param n          tokens in the batch
 * @param tokens     per token: its id
 * @param positions  per token: its position in its sequence
 * @param attention  per token: its KV slot and what it attends to
 * @param logitRows  batch rows whose next-token logits are wanted, ascending
 * @param logitCount how many entries of {@code logitRows} are used
 */
public record ForwardBatch(int n, int[] tokens, int[] positions, AttentionBatch attention, int[] logitRows,
                           int logitCount) {}
