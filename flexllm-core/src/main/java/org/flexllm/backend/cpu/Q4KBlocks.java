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
 * (f32 for the GEMM panels). A super-block is 256 weights w = d·sc[j]·q − dmin·m[j] in 8 sub-blocks j of 32;
 * its nibbles q come in 4 chunks of 32 bytes, sub-block 2c in chunk c's low nibbles and 2c + 1 in its high ones.
 * The scales and mins are unpacked from two words; each vector of nibbles is masked or shifted out of its bytes,
 * converted to f32 lanes and scaled by one FMA, as {@link org.flexllm.tensor.quant.BlockFormat#decode} computes
 * it. Needs the species {@link BlockGemv#supports} accepts.
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
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of the row at byte {@code row} and x from byte {@code xi}:
     * one FMA widens the weights, another multiplies them into x; four sums, one per sub-block of four, keep four
     * FMA chains in flight.
     */
    static float dot(MemorySegment data, long row, int blocks, MemorySegment x, long xi) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BYTES;
            long xb = xi + (long) b * SIZE * Float.BYTES;
            for (int j = 0; j < SUBS; j += 4) {
                for (int l = 0; l < SUB; l += F.length()) {
                    s0 = weights(data, block, j, l).fma(BlockGemv.floatsAt(x, xb, j * SUB + l), s0);
                    s1 = weights(data, block, j + 1, l).fma(BlockGemv.floatsAt(x, xb, (j + 1) * SUB + l), s1);
                    s2 = weights(data, block, j + 2, l).fma(BlockGemv.floatsAt(x, xb, (j + 2) * SUB + l), s2);
                    s3 = weights(data, block, j + 3, l).fma(BlockGemv.floatsAt(x, xb, (j + 3) * SUB + l), s3);
                }
            }
        }
        return BlockGemv.sum(s0, s1, s2, s3);
    }

    /** {@code blocks} super-blocks from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(MemorySegment data, long first, int blocks, float[] dst, int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * BYTES;
            for (int p = 0; p < SIZE; p += F.length()) {
                weights(data, block, p / SUB, p % SUB).intoArray(dst, at + b * SIZE + p);
            }
        }
    }

    /**
     * Weights {@code [l, l + F.length())} of sub-block j: d·sc[j]·q − dmin·m[j] in one rounding, with q the low
     * (j even) or high nibbles of chunk j / 2's bytes from l. The scales' words are read for every vector (C2 merges
     * the reads and the unpacking of a sub-block's vectors).
     */
    private static FloatVector weights(MemorySegment data, long block, int j, int l) {
        long scalesLow = data.get(LONG, block + Q4KScales.OFFSET);
        int scalesHigh = data.get(INT, block + Q4KScales.OFFSET + Long.BYTES);
        float scale = BlockGemv.half(data, block) * Q4KScales.scale(scalesLow, scalesHigh, j);
        float min = BlockGemv.half(data, block + 2) * Q4KScales.min(scalesLow, scalesHigh, j);
        ByteVector bytes = BlockGemv.bytes(data, block + QS + (long) j / 2 * SUB + l);
        ByteVector q = j % 2 == 0 ? bytes.and((byte) 0xF) : bytes.lanewise(VectorOperators.LSHR, 4);
        return BlockGemv.floats(q).fma(scale, -min);
    }
}
