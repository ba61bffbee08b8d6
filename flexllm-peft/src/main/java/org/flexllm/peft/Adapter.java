package org.flexllm.peft;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import org.flexllm.backend.Backend;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * An adapter in memory: its config and its f32 tensors by PEFT key, in a fixed order (layer by layer, the
 * targets in {@link org.flexllm.graph.Projection} order, A before B).
 *
 * @param config  what the adapter is
 * @param tensors its weights, F32, keyed and named by their PEFT key
 */
public record Adapter(AdapterConfig config, SequencedMap<String, Tensor> tensors) {
    /**
     * @throws IllegalArgumentException when a tensor is not F32 or is filed under a key other than its name
     */
    public Adapter {
        tensors.forEach((key, tensor) -> {
            if (tensor.dtype() != DType.F32 || !tensor.name().equals(key)) {
                throw new IllegalArgumentException("adapter tensor '" + key + "' must be an F32 tensor named by its"
                        + " key, not " + tensor.dtype() + " '" + tensor.name() + "'");
            }
        });
        tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
    }

    /**
     * The adapter whose tensors are the current values of {@code parameters}: views of their buffers, not copies,
     * on the parameters' backend.
     */
    public static Adapter of(AdapterConfig config, List<Parameter> parameters) {
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            tensors.put(p.name(), new Tensor(p.name(), DType.F32, p.shape(), p.value()));
        }
        return new Adapter(config, tensors);
    }

    /**
     * The tensors (in host memory) as trainable parameters on {@code backend}, in order: each value a buffer the
     * tensor is uploaded into, each gradient a zeroed buffer, both freed with {@code lifetime}. Training updates the
     * parameters, not this adapter; {@link #of} sees them as an adapter again.
     */
    public List<Parameter> parameters(Backend backend, Arena lifetime) {
        return tensors.values().stream().map(t -> {
            long count = t.shape().elements();
            MemorySegment value = backend.allocate(count, lifetime);
            backend.upload(t.data(), value, count);
            return new Parameter(t.name(), t.shape(), value, backend.allocate(count, lifetime));
        }).toList();
    }
}
