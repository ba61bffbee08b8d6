package org.flexllm.model;

import java.lang.foreign.Arena;

/**
 * A model whose weights are mapped from its files (a Hugging Face folder or a GGUF file) and bound to its
 * config's shapes; they stay valid until {@link #close()} unmaps them.
 */
public abstract sealed class MappedModel implements AutoCloseable permits Checkpoint, GgufCheckpoint {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final long weightBytes;
    private final Arena arena;

    MappedModel(ModelConfig config, ModelWeights weights, long weightBytes, Arena arena) {
        this.config = config;
        this.weights = weights;
        this.weightBytes = weightBytes;
        this.arena = arena;
    }

    public final ModelConfig config() {
        return config;
    }

    public final ModelWeights weights() {
        return weights;
    }

    /** Bytes of all bound weights as stored, a tied lm_head counted once. */
    public final long weightBytes() {
        return weightBytes;
    }

    /** Unmaps the weights; the tensors of {@link #weights()} must not be used afterwards. Idempotent. */
    @Override
    public final void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
