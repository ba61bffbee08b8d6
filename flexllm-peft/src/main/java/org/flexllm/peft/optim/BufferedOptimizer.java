package org.flexllm.peft.optim;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.SequencedMap;
import org.flexllm.tensor.Tensor;

/** An optimizer whose whole state is per-parameter buffers and a step count: checkpointing comes with it. */
abstract class BufferedOptimizer implements Optimizer {
    final StateBuffers state;

    BufferedOptimizer(StateBuffers state) {
        this.state = state;
    }

    @Override
    public final long steps() {
        return state.steps();
    }

    @Override
    public final SequencedMap<String, Tensor> state(Arena host) {
        return state.export(host);
    }

    @Override
    public final void load(Map<String, Tensor> tensors, long steps) {
        state.load(tensors, steps);
    }
}
