package org.flexllm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.LongStream;
import org.flexllm.tensor.quant.Quantized;

/** Scalar conversions between stored dtypes and f32. Kernels use vectorized versions of the same rules. */
public final class DTypes {
    private DTypes() {}

    /** bf16 is the top half of an f32: widening is a 16-bit shift. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round-to-nearest-even, as torch does; NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Element {@code i} of {@code dtype} data widened to f32 (a quantized one decodes its block). */
    public static float read(DType dtype, MemorySegment data, long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case F16 -> Float.float16ToFloat(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case BF16 -> bf16ToFloat(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case Q8_0, Q4_0, Q4_K, Q6_K -> Quantized.get(dtype, data, i);
        };
    }

    /**
     * Stores element {@code i} of unquantized data.
     *
     * @throws IllegalArgumentException for a quantized dtype, whose blocks are written whole with
     *                                  {@link Quantized#quantize}
     */
    public static void write(DType dtype, MemorySegment data, long i, float value) {
        switch (dtype) {
            case F32 -> data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, value);
            case F16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(value));
            case BF16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, floatToBf16(value));
            case Q8_0, Q4_0, Q4_K, Q6_K -> throw new IllegalArgumentException(
                    dtype + " elements are not written one at a time: quantize whole blocks");
        }
    }

    /** Row {@code row} of a matrix of {@code dst.length} columns, widened to f32 into {@code dst}. */
    public static void readRow(DType dtype, MemorySegment data, long row, float[] dst) {
        long first = row * dst.length;
        if (dtype.isQuantized()) {
            Quantized.dequantize(dtype, data, first, dst, 0, dst.length);
            return;
        }
        for (int i = 0; i < dst.length; i++) {
            dst[i] = read(dtype, data, first + i);
        }
    }

    /** Stores {@code src} as row {@code row} of a matrix of {@code src.length} columns (whole blocks if quantized). */
    public static void writeRow(DType dtype, float[] src, MemorySegment data, long row) {
        if (dtype.isQuantized()) {
            Quantized.quantize(dtype, src, 0, src.length, data, dtype.bytes(row * src.length));
            return;
        }
        long first = row * src.length;
        for (int i = 0; i < src.length; i++) {
            write(dtype, data, first + i, src[i]);
        }
    }

    /**
     * {@code t} stored as {@code target} in memory of {@code arena} (rows converted in parallel, so the arena must
     * be shared or global), or {@code t} itself when it already is.
     *
     * @throws IllegalArgumentException when {@code target} is quantized and rows are not whole blocks of it
     */
    public static Tensor convert(Tensor t, DType target, Arena arena) {
        if (t.dtype() == target) {
            return t;
        }
        int cols = t.cols();
        long rows = cols == 0 ? 0 : t.shape().elements() / cols;
        MemorySegment out = arena.allocate(target.bytes(t.shape().elements()), 64);
        LongStream.range(0, rows).parallel().forEach(r -> {
            float[] row = new float[cols];
            readRow(t.dtype(), t.data(), r, row);
            writeRow(target, row, out, r);
        });
        return new Tensor(t.name(), target, t.shape(), out);
    }
}
