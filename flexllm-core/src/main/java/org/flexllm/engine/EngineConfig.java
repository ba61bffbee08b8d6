package org.flexllm.engine;

import org.flexllm.api.Slo;
import org.flexllm.schedule.Policy;

/**
 * Sizes and policy the engine is built with.
 *
 * @param tokenBudget       the most tokens one iteration's forward pass computes (decode, prefill and a
 *                          finetuning window together)
 * @param maxSequences      the most sequences running at once
 * @param kvCacheBytes      memory for the paged KV cache
 * @param blockSize         tokens per KV block
 * @param maxModelLen       the longest sequence (prompt + output) accepted; at most the model's context
 * @param seed              the engine's random seed for requests that bring none
 * @param policy            how iterations are shared between inference and finetuning
 * @param slo               the latency targets of requests that bring none
 * @param temporalEvery     {@link Policy#TEMPORAL}: inference iterations between two whole finetuning samples
 * @param spatialShare      {@link Policy#SPATIAL}: the share of the token budget reserved for finetuning
 * @param maxFinetuneTokens the longest finetuning sample (its backward runs the whole sample in one pass)
 */
public record EngineConfig(int tokenBudget, int maxSequences, long kvCacheBytes, int blockSize, int maxModelLen,
                           long seed, Policy policy, Slo slo, int temporalEvery, double spatialShare,
                           int maxFinetuneTokens) {
    public EngineConfig {
        positive("tokenBudget", tokenBudget);
        positive("maxSequences", maxSequences);
        positive("kvCacheBytes", kvCacheBytes);
        positive("blockSize", blockSize);
        positive("maxModelLen", maxModelLen);
        positive("temporalEvery", temporalEvery);
        positive("maxFinetuneTokens", maxFinetuneTokens);
        if (!(spatialShare > 0 && spatialShare < 1)) {
            throw new IllegalArgumentException("spatialShare must be between 0 and 1 (exclusive), was " + spatialShare);
        }
    }

    /** The most tokens one pass carries: an iteration's budget, or a finetuning sample's whole backward. */
    public int maxPassTokens() {
        return Math.max(tokenBudget, maxFinetuneTokens);
    }

    private static void positive(String field, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, was " + value);
        }
    }
}
