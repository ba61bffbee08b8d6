package org.flexllm.engine;

/**
 * Sizes the engine is built with.
 *
 * @param tokenBudget  the most tokens one iteration computes (decode tokens + prefill chunks)
 * @param maxSequences the most sequences running at once
 * @param kvCacheBytes memory for the paged KV cache
 * @param blockSize    tokens per KV block
 * @param maxModelLen  the longest sequence (prompt + output) accepted; at most the model's context
 * @param seed         the engine's random seed for requests that bring none
 */
public record EngineConfig(int tokenBudget, int maxSequences, long kvCacheBytes, int blockSize, int maxModelLen,
                           long seed) {
    public EngineConfig {
        positive("tokenBudget", tokenBudget);
        positive("maxSequences", maxSequences);
        positive("kvCacheBytes", kvCacheBytes);
        positive("blockSize", blockSize);
        positive("maxModelLen", maxModelLen);
    }

    private static void positive(String field, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, was " + value);
        }
    }
}
