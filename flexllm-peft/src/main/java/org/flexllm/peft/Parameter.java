package org.flexllm.peft;

import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.Shape;

/**
 * A trainable tensor of an adapter: its f32 values and the f32 gradient accumulated for them, both laid out
 * row-major with {@code shape}, allocated where the backend computes.
 *
 * @param name  the tensor's key in PEFT's {@code adapter_model.safetensors}
 * @param shape its shape, as PEFT stores it
 * @param value the values, {@code shape.elements()} floats
 * @param grad  the gradient, same layout; optimizers read it and the job zeroes it after each step
 */
public record Parameter(String name, Shape shape, MemorySegment value, MemorySegment grad) {

    /** Floats in the tensor. */
    public long count() {
        return shape.elements();
    }
}
