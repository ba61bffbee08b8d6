package org.flexllm.peft.optim;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.SequencedMap;
import org.flexllm.tensor.Tensor;

/**
 * Updates a fixed list of {@link org.flexllm.peft.Parameter}s from their gradients, with PyTorch's semantics.
 * Its state (momentum buffers, moment estimates) and its step count can be exported into a checkpoint and loaded
 * back, after which the next step is exactly the one an uninterrupted optimizer would take. Not thread-safe:
 * the finetuning job steps it from one thread.
 */
public interface Optimizer {
    /**
     * Takes one step with learning rate {@code lr}, reading each parameter's {@code grad} and updating its
     * {@code value} in place. Gradients are left as they are; the caller zeroes them.
     *
     * @throws InvalidHyperparameterException when {@code lr} is negative or not finite
     */
    void step(double lr);

    /** Steps taken, including those before a {@link #load}. */
    long steps();

    /**
     * The state as F32 tensors keyed {@code <parameter name>.<buffer>} (PyTorch's buffer names:
     * {@code momentum_buffer}, {@code exp_avg}, {@code exp_avg_sq}): copies, in host memory from {@code host}, of
     * the buffers the backend holds.
     */
    SequencedMap<String, Tensor> state(Arena host);

    /**
     * Replaces the state with a copy of {@code state} (host tensors, as {@link #state} exported them) and the step
     * count with {@code steps}.
     *
     * @throws OptimizerStateException naming the tensor when one is missing, unexpected or of the wrong shape
     */
    void load(Map<String, Tensor> state, long steps);
}
