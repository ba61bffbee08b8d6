package org.flexllm.conformance;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.flexllm.backend.Backend;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * Random operands for a backend's kernels, with their exact values in double. Buffers go in and out of the backend
 * here only, through {@link Backend#upload} and {@link Backend#download}.
 */
final class Operands {
    private final Backend backend;
    private final Random random;
    private final Arena arena = Arena.ofAuto();

    Operands(Backend backend, long seed) {
        this.backend = backend;
        this.random = new Random(seed);
    }

    /** The tolerance of a result computed from weights of {@code dtype}: f32 1e-5, f16 1e-3, bf16 1e-2, relative. */
    static double tolerance(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-5;
            case F16 -> 1e-3;
            case BF16 -> 1e-2;
            default -> throw new IllegalArgumentException("no conformance tolerance for " + dtype);
        };
    }

    /** {@code count} values uniform in [-1, 1). */
    float[] floats(int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = random.nextFloat() * 2 - 1;
        }
        return v;
    }

    int[] ints(int count, int from, int to) {
        return random.ints(count, from, to).toArray();
    }

    Random random() {
        return random;
    }

    /** A backend buffer holding {@code values}. */
    MemorySegment upload(float[] values) {
        MemorySegment buffer = backend.allocate(values.length);
        backend.upload(MemorySegment.ofArray(values), buffer, values.length);
        return buffer;
    }

    /** The first {@code count} floats of a backend buffer. */
    float[] download(MemorySegment buffer, int count) {
        float[] out = new float[count];
        backend.download(buffer, MemorySegment.ofArray(out), count);
        return out;
    }

    /** A weight of {@code dtype} made resident on the backend, and its exact values. */
    record Weight(Tensor tensor, double[] values) {
        double at(int row, int col) {
            return values[row * tensor.cols() + col];
        }
    }

    /** A {@code [rows, cols]} weight (a vector when {@code rows} is 0) of values in [-1, 1) rounded to {@code dtype}. */
    Weight weight(DType dtype, int rows, int cols) {
        int count = Math.max(rows, 1) * cols;
        MemorySegment data = arena.allocate((long) count * dtype.byteSize(), 64);
        double[] values = new double[count];
        for (int i = 0; i < count; i++) {
            float f = random.nextFloat() * 2 - 1;
            switch (dtype) {
                case F32 -> {
                    data.setAtIndex(ValueLayout.JAVA_FLOAT, i, f);
                    values[i] = f;
                }
                case F16 -> {
                    short h = Float.floatToFloat16(f);
                    data.setAtIndex(ValueLayout.JAVA_SHORT, i, h);
                    values[i] = Float.float16ToFloat(h);
                }
                case BF16 -> {
                    short h = (short) (Float.floatToRawIntBits(f) >>> 16);  // truncation: any bf16 value will do
                    data.setAtIndex(ValueLayout.JAVA_SHORT, i, h);
                    values[i] = Float.intBitsToFloat(h << 16);
                }
                default -> throw new IllegalArgumentException("no conformance weights of " + dtype);
            }
        }
        Shape shape = rows == 0 ? Shape.of(cols) : Shape.of(rows, cols);
        return new Weight(backend.weight(new Tensor("conformance.weight", dtype, shape, data)), values);
    }
}
