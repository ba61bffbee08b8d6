package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.flexllm.backend.Backend;

/**
 * The gradient buffers of a compiled model's values (one each, never shared: several readers add into the
 * same gradient), and of the KV cache's keys and values for one layer. Allocated on the first finetuning use.
 */
final class Gradients {
    /** The gradients of one layer's cached keys and values, row = position. */
    record KvGrads(MemorySegment keys, MemorySegment values) {}

    private final Map<Value, MemorySegment> grads = new HashMap<>();
    private final KvGrads kv;
    private final Backend backend;

    Gradients(Backend backend, DecoderGraph graph, int maxTokens, int kvDim) {
        this.backend = backend;
        for (Value v : graph.values()) {
            grads.put(v, backend.allocate(v.floats(maxTokens)));
        }
        kv = new KvGrads(backend.allocate((long) maxTokens * kvDim), backend.allocate((long) maxTokens * kvDim));
    }

    MemorySegment of(Value v) {
        return grads.get(v);
    }

    KvGrads kv() {
        return kv;
    }

    /** Zeroes the first {@code rows} rows of {@code v}'s gradient. */
    void zero(Value v, int rows) {
        backend.zero(grads.get(v), (long) rows * v.width());
    }
}
