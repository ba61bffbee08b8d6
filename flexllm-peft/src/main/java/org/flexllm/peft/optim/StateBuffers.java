package org.flexllm.peft.optim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import org.flexllm.backend.Backend;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * An optimizer's step count and per-parameter f32 buffers (zero at first) on the parameters' backend, and their
 * export to host memory and import from it as tensors named {@code <parameter name>.<buffer>}. The buffers live as
 * long as the optimizer (an automatic arena).
 */
final class StateBuffers {
    private final Backend backend;
    private final List<Parameter> params;
    private final List<String> bufferNames;
    /** {@code buffers[p][b]}: buffer {@code b} of parameter {@code p}. */
    private final MemorySegment[][] buffers;
    private long steps;

    StateBuffers(Backend backend, List<Parameter> params, List<String> bufferNames) {
        this.backend = backend;
        this.params = List.copyOf(params);
        this.bufferNames = List.copyOf(bufferNames);
        checkUniqueNames(this.params);
        Arena arena = Arena.ofAuto();
        buffers = new MemorySegment[this.params.size()][this.bufferNames.size()];
        for (int p = 0; p < buffers.length; p++) {
            for (int b = 0; b < buffers[p].length; b++) {
                buffers[p][b] = backend.allocate(this.params.get(p).count(), arena);
            }
        }
    }

    Backend backend() {
        return backend;
    }

    List<Parameter> params() {
        return params;
    }

    long steps() {
        return steps;
    }

    void countStep() {
        steps++;
    }

    MemorySegment get(int param, int buffer) {
        return buffers[param][buffer];
    }

    /** Copies of the buffers in host memory from {@code host}. */
    SequencedMap<String, Tensor> export(Arena host) {
        SequencedMap<String, Tensor> state = new LinkedHashMap<>();
        for (int p = 0; p < buffers.length; p++) {
            long count = params.get(p).count();
            for (int b = 0; b < buffers[p].length; b++) {
                String key = key(p, b);
                MemorySegment copy = host.allocate(count * Float.BYTES, Float.BYTES);
                backend.download(buffers[p][b], copy, count);
                state.put(key, new Tensor(key, DType.F32, params.get(p).shape(), copy));
            }
        }
        return state;
    }

    /** Copies {@code state} in after checking that it holds exactly this optimizer's buffers. */
    void load(Map<String, Tensor> state, long steps) {
        if (steps < 0) {
            throw new OptimizerStateException("steps = " + steps + ": a step count cannot be negative");
        }
        int expected = buffers.length * bufferNames.size();
        for (int p = 0; p < buffers.length; p++) {
            for (int b = 0; b < buffers[p].length; b++) {
                check(state.get(key(p, b)), key(p, b), params.get(p));
            }
        }
        if (state.size() != expected) {
            throw new OptimizerStateException("the state holds " + state.size() + " tensors but this optimizer has "
                    + expected + " (" + bufferNames + " for each of " + buffers.length + " parameters)");
        }
        for (int p = 0; p < buffers.length; p++) {
            for (int b = 0; b < buffers[p].length; b++) {
                backend.upload(state.get(key(p, b)).data(), buffers[p][b], params.get(p).count());
            }
        }
        this.steps = steps;
    }

    private String key(int param, int buffer) {
        return params.get(param).name() + "." + bufferNames.get(buffer);
    }

    private static void check(Tensor tensor, String key, Parameter param) {
        if (tensor == null) {
            throw new OptimizerStateException("the state has no tensor '" + key + "'");
        }
        if (tensor.dtype() != DType.F32 || !tensor.shape().equals(param.shape())) {
            throw new OptimizerStateException("state tensor '" + key + "' is " + tensor.dtype() + tensor.shape()
                    + " but its parameter is F32" + param.shape());
        }
    }

    private static void checkUniqueNames(List<Parameter> params) {
        Set<String> names = new HashSet<>();
        for (Parameter p : params) {
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("two parameters are named '" + p.name() + "'");
            }
        }
    }
}
