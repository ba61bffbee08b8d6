package org.flexllm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
}
