package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.flexllm.backend.Backend;

/**
 * The gradient buffers of a compiled model's values (one each, never shared: several readers add into the
 * same gradient). Allocated on the first finetuning use.
 */
final class Gradients {
    private final Map<Value, MemorySegment> grads = new HashMap<>();
    private final Backend backend;

    Gradients(Backend backend, DecoderGraph graph, int maxTokens) {
        this.backend = backend;
        for (Value v : graph.values()) {
            grads.put(v, backend.allocate(v.floats(maxTokens)));
        }
    }

    MemorySegment of(Value v) {
        return grads.get(v);
    }

    /** Zeroes the first {@code rows} rows of {@code v}'s gradient. */
    void zero(Value v, int rows) {
        backend.zero(grads.get(v), (long) rows * v.width());
    }
}
