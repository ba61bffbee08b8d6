package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.flexllm.tensor.DType;

/**
 * One of llama.cpp's block-quantized formats: how {@link DType#blockSize()} weights are stored in
 * {@link DType#blockBytes()} bytes (see ggml's {@code ggml-common.h}). Implementations hold no state.
 */
public sealed interface BlockFormat permits Q8_0Format, Q4_0Format, Q4_KFormat, Q6_KFormat {
    /** Little-endian f16 scales, as ggml writes them. */
    ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * Writes the block held in {@code block} (its bytes, copied out of the tensor: array reads are cheaper than a
     * segment's checked ones, and C2 vectorizes loops over them) as f32 to {@code dst[at, at + blockSize)}.
     */
    void decode(byte[] block, float[] dst, int at);

    /**
     * Quantizes {@code src[at, at + blockSize)} into the block at byte {@code offset} of {@code dst}: a plain
     * round-to-nearest quantizer, not llama.cpp's error-minimizing search (its blocks decode the same way).
     */
    void encode(float[] src, int at, MemorySegment dst, long offset);

    /**
     * The format of a quantized dtype.
     *
     * @throws IllegalArgumentException for F32, F16 and BF16
     */
    static BlockFormat of(DType dtype) {
        return switch (dtype) {
            case Q8_0 -> Q8_0Format.INSTANCE;
            case Q4_0 -> Q4_0Format.INSTANCE;
            case Q4_K -> Q4_KFormat.INSTANCE;
            case Q6_K -> Q6_KFormat.INSTANCE;
            case F32, F16, BF16 -> throw new IllegalArgumentException(dtype + " is not a block-quantized dtype");
        };
    }

    /** The little-endian f16 at {@code block[at]}, widened. */
    static float half(byte[] block, int at) {
        return Float.float16ToFloat((short) (block[at] & 0xFF | block[at + 1] << 8));
    }

    /** Stores {@code value} as f16 at byte {@code offset} and returns the value the f16 holds. */
    static float putHalf(MemorySegment dst, long offset, float value) {
        short bits = Float.floatToFloat16(value);
        dst.set(HALF, offset, bits);
        return Float.float16ToFloat(bits);
    }

    /** The largest |x| of {@code src[at, at + len)}. */
    static float absMax(float[] src, int at, int len) {
        float max = 0;
        for (int i = at; i < at + len; i++) {
            max = Math.max(max, Math.abs(src[i]));
        }
        return max;
    }

    /** {@code 1 / scale}, or 0 for a zero scale (an all-zero block encodes as zeros). */
    static float inverse(float scale) {
        return scale == 0 ? 0 : 1 / scale;
    }
}
