package org.flexllm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A named, typed view of memory: a weight as stored in a checkpoint (memory-mapped, never copied onto the
 * heap), or a buffer a backend owns. Row-major, little-endian.
 *
 * @param name  the checkpoint name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype the stored element type; kernels convert to f32 as they read
 * @param shape dimensions, outermost first; a Linear weight is {@code [out, in]}
 * @param data  exactly {@code dtype.bytes(shape.elements())} bytes (a quantized matrix: whole blocks per row)
 */
public record Tensor(String name, DType dtype, Shape shape, MemorySegment data) {
    public Tensor {
        if (dtype.isQuantized() && shape.rank() > 0 && shape.dim(shape.rank() - 1) % dtype.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' " + dtype + shape + ": rows of "
                    + shape.dim(shape.rank() - 1) + " elements are not whole blocks of " + dtype.blockSize());
        }
        long expected = dtype.bytes(shape.elements());
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' " + dtype + shape + " needs " + expected
                    + " bytes but has " + data.byteSize());
        }
    }

    /** Rows of a 2-D tensor ({@code out} of a Linear weight). */
    public int rows() {
        return Math.toIntExact(shape.dim(0));
    }

    /** Columns of a 2-D tensor ({@code in} of a Linear weight), or the length of a 1-D one. */
    public int cols() {
        return Math.toIntExact(shape.dim(shape.rank() - 1));
    }

    /** Element {@code i} (flat index) widened to f32. For tests and cold paths, not kernels. */
    public float getFloat(long i) {
        return DTypes.read(dtype, data, i);
    }
}
