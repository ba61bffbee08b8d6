package org.flexllm.io;

import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/** Small heap tensors for tests. */
public final class TestTensors {
    private TestTensors() {}

    /** A tensor of {@code values} stored as {@code dtype} (rounded as {@link DTypes#write} rounds). */
    public static Tensor tensor(String name, DType dtype, Shape shape, float... values) {
        MemorySegment data = MemorySegment.ofArray(new byte[values.length * dtype.byteSize()]);
        for (int i = 0; i < values.length; i++) {
            DTypes.write(dtype, data, i, values[i]);
        }
        return new Tensor(name, dtype, shape, data);
    }
}
