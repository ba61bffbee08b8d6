package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.tensor.quant.Q4KScales;

/**
 * Q4_K super-blocks widened in registers, for {@link BlockGemv} (a row's dot product with x) and {@link Dequantize}
 * (f32 for the GEMM's weight blocks). A super-block is 256 weights w = d·sc[j]·q − dmin·m[j] in 8 sub-blocks j of
 * 32, whose nibbles q come in 4 chunks of 32 bytes: sub-block j in the low (j even) or high nibbles of chunk j / 2.
 * A sub-block's scale and min are unpacked once, as scalars; each vector of nibbles is masked or shifted out of its
 * bytes, converted to f32 lanes and scaled by one FMA, as {@link org.flexllm.tensor.quant.BlockFormat#decode}
 * computes it. Needs the species {@link BlockGemv#supports} accepts.
 */
final class Q4KBlocks {
    private static final int SIZE = 256;
    private static final int BYTES = 144;
    private static final int QS = 16;
    private static final int SUB = 32;
    private static final int SUBS = SIZE / SUB;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private Q4KBlocks() {}

    /**
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of the row at byte {@code row} and x from byte {@code xi}, a
     * chunk at a time: its bytes are read once for both its sub-blocks, whose sums are two FMA chains.
     */
    static float dot(MemorySegment data, long row, int blocks, MemorySegment x, long xi) {
        FloatVector low = FloatVector.zero(F);
        FloatVector high = low;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BYTES;
            Scales scales = new Scales(data, block);
            for (int j = 0; j < SUBS; j += 2) {
                long q = block + QS + (long) j / 2 * SUB;
                long xj = xi + ((long) b * SIZE + (long) j * SUB) * Float.BYTES;
                float lowScale = scales.scale(j);
                float lowMin = -scales.min(j);
                float highScale = scales.scale(j + 1);
                float highMin = -scales.min(j + 1);
                for (int l = 0; l < SUB; l += F.length()) {
                    ByteVector bytes = BlockGemv.bytes(data, q + l);
                    low = nibbles(bytes, false).fma(lowScale, lowMin).fma(BlockGemv.floatsAt(x, xj, l), low);
                    high = nibbles(bytes, true).fma(highScale, highMin).fma(BlockGemv.floatsAt(x, xj, SUB + l), high);
                }
            }
        }
        return VectorMath.sumLanes(low.add(high));
    }

    /** {@code blocks} super-blocks from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(MemorySegment data, long first, int blocks, float[] dst, int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * BYTES;
            Scales scales = new Scales(data, block);
            for (int j = 0; j < SUBS; j++) {
                float scale = scales.scale(j);
                float min = -scales.min(j);
                for (int l = 0; l < SUB; l += F.length()) {
                    ByteVector bytes = BlockGemv.bytes(data, block + QS + (long) j / 2 * SUB + l);
                    nibbles(bytes, j % 2 == 1).fma(scale, min).intoArray(dst, at + b * SIZE + j * SUB + l);
                }
            }
        }
    }

    /**
     * A super-block's d, dmin and packed 6-bit scales and mins, read once (a record that C2 keeps in registers: it
     * never escapes).
     */
    private record Scales(float d, float dmin, long low, int high) {
        Scales(MemorySegment data, long block) {
            this(BlockGemv.half(data, block), BlockGemv.half(data, block + 2), data.get(LONG, block + Q4KScales.OFFSET),
                    data.get(INT, block + Q4KScales.OFFSET + Long.BYTES));
        }

        /** d·sc[j]. */
        float scale(int j) {
            return d * Q4KScales.scale(low, high, j);
        }

        /** dmin·m[j]. */
        float min(int j) {
            return dmin * Q4KScales.min(low, high, j);
        }
    }

    /** The low (or high) nibbles of {@code bytes} as f32 lanes. */
    private static FloatVector nibbles(ByteVector bytes, boolean high) {
        return BlockGemv.floats(high ? bytes.lanewise(VectorOperators.LSHR, 4) : bytes.and((byte) 0xF));
    }
}
