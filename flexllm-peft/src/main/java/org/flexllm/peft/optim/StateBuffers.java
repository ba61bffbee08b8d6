package org.flexllm.peft.optim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * An optimizer's step count and per-parameter f32 buffers (zero at first), and their export and import as
 * tensors named {@code <parameter name>.<buffer>}. The memory lives as long as the optimizer (an automatic arena).
 */
final class StateBuffers {
    private final List<Parameter> params;
    private final List<String> bufferNames;
    /** {@code buffers[p][b]}: buffer {@code b} of parameter {@code p}. */
    private final MemorySegment[][] buffers;
    private long steps;

    StateBuffers(List<Parameter> params, List<String> bufferNames) {
        this.params = List.copyOf(params);
        this.bufferNames = List.copyOf(bufferNames);
        checkUniqueNames(this.params);
        Arena arena = Arena.ofAuto();
        buffers = new MemorySegment[this.params.size()][this.bufferNames.size()];
        for (int p = 0; p < buffers.length; p++) {
            for (int b = 0; b < buffers[p].length; b++) {
                buffers[p][b] = arena.allocate(ValueLayout.JAVA_FLOAT, this.params.get(p).count());
            }
        }
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

    SequencedMap<String, Tensor> export() {
        SequencedMap<String, Tensor> state = new LinkedHashMap<>();
        for (int p = 0; p < buffers.length; p++) {
            for (int b = 0; b < buffers[p].length; b++) {
                String key = key(p, b);
                state.put(key, new Tensor(key, DType.F32, params.get(p).shape(), buffers[p][b]));
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
                MemorySegment.copy(state.get(key(p, b)).data(), 0, buffers[p][b], 0, buffers[p][b].byteSize());
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
