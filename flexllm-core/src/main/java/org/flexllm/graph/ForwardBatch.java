package org.flexllm.graph;

import org.flexllm.backend.AttentionBatch;

/**
 * One iteration's flat batch: the tokens of every scheduled sequence chunk, back to back.
 *
 * @param n            tokens in the batch
 * @param tokens       per token: its id
 * @param positions    per token: its position in its sequence
 * @param adapters     per token: the resident adapter its sequence uses, or −1 for the base model
 * @param attention    per token: its KV slot and what it attends to
 * @param logitRows    batch rows whose next-token logits are wanted, ascending
 * @param logitCount   how many entries of {@code logitRows} are used
 * @param logitTargets per logit row: the token a finetuning window trains it to predict, or −1 for a row whose
 *                     logits go to the sink; only read when {@code training} is set
 * @param training     the finetuning window in this batch, or null
 */
public record ForwardBatch(int n, int[] tokens, int[] positions, int[] adapters, AttentionBatch attention,
                           int[] logitRows, int logitCount, int[] logitTargets, TrainingWindow training) {}
