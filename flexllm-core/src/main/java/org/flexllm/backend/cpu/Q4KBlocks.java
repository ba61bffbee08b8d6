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
 * The scales and mins are unpacked once per super-block from two words; each vector of nibbles is masked or
 * shifted out of its bytes and converted to f32 lanes. Needs the species {@link BlockGemv#supports} accepts.
 */
final class Q4KBlocks {
    private static final int SIZE = 256;
    private static final int BYTES = 144;
    private static final int QS = 16;
    private static final int CHUNKS = 4;
    private static final int SUB = 32;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private Q4KBlocks() {}

    /**
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of the row at byte {@code row} and x from byte {@code xi}.
     * Each weight is widened by one FMA (q·d·sc − dmin·m) and multiplied into x by another; four sums, one per
     * sub-block of a chunk pair, keep four FMA chains in flight.
     */
    static float dot(MemorySegment data, long row, int blocks, MemorySegment x, long xi) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BYTES;
            long xb = xi + (long) b * SIZE * Float.BYTES;
            float d = BlockGemv.half(data, block);
            float dmin = BlockGemv.half(data, block + 2);
            long low = data.get(LONG, block + Q4KScales.OFFSET);
            int high = data.get(INT, block + Q4KScales.OFFSET + Long.BYTES);
            for (int c = 0; c < CHUNKS; c += 2) {
                int j = 2 * c;
                long q = block + QS + (long) c * SUB;
                long xc = xb + (long) c * 2 * SUB * Float.BYTES;
                FloatVector sc0 = FloatVector.broadcast(F, d * Q4KScales.scale(low, high, j));
                FloatVector sc1 = FloatVector.broadcast(F, d * Q4KScales.scale(low, high, j + 1));
                FloatVector sc2 = FloatVector.broadcast(F, d * Q4KScales.scale(low, high, j + 2));
                FloatVector sc3 = FloatVector.broadcast(F, d * Q4KScales.scale(low, high, j + 3));
                FloatVector m0 = FloatVector.broadcast(F, -dmin * Q4KScales.min(low, high, j));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * Q4KScales.min(low, high, j + 1));
                FloatVector m2 = FloatVector.broadcast(F, -dmin * Q4KScales.min(low, high, j + 2));
                FloatVector m3 = FloatVector.broadcast(F, -dmin * Q4KScales.min(low, high, j + 3));
                for (int l = 0; l < SUB; l += F.length()) {
                    s0 = nibbles(data, q + l, false).fma(sc0, m0).fma(xAt(x, xc, l), s0);
                    s1 = nibbles(data, q + l, true).fma(sc1, m1).fma(xAt(x, xc, SUB + l), s1);
                    s2 = nibbles(data, q + SUB + l, false).fma(sc2, m2).fma(xAt(x, xc, 2 * SUB + l), s2);
                    s3 = nibbles(data, q + SUB + l, true).fma(sc3, m3).fma(xAt(x, xc, 3 * SUB + l), s3);
                }
            }
        }
        return VectorMath.sumLanes(s0.add(s1).add(s2.add(s3)));
    }

    /**
     * {@code blocks} super-blocks from byte {@code first} as f32 at {@code dst[at]}: d·sc·q − dmin·m rounded after
     * the product and after the difference, as {@link org.flexllm.tensor.quant.BlockFormat#decode} does.
     */
    static void decode(MemorySegment data, long first, int blocks, float[] dst, int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * BYTES;
            float d = BlockGemv.half(data, block);
            float dmin = BlockGemv.half(data, block + 2);
            long low = data.get(LONG, block + Q4KScales.OFFSET);
            int high = data.get(INT, block + Q4KScales.OFFSET + Long.BYTES);
            for (int j = 0; j < 2 * CHUNKS; j++) {
                float scale = d * Q4KScales.scale(low, high, j);
                float min = dmin * Q4KScales.min(low, high, j);
                long q = block + QS + (long) j / 2 * SUB;
                int out = at + b * SIZE + j * SUB;
                for (int l = 0; l < SUB; l += F.length()) {
                    nibbles(data, q + l, j % 2 == 1).mul(scale).sub(min).intoArray(dst, out + l);
                }
            }
        }
    }

    /** The low (or high) nibbles of the {@code F.length()} bytes from byte {@code at}, as f32 lanes. */
    private static FloatVector nibbles(MemorySegment data, long at, boolean high) {
        ByteVector bytes = BlockGemv.bytes(data, at);
        return BlockGemv.floats(high ? bytes.lanewise(VectorOperators.LSHR, 4) : bytes.and((byte) 0xF));
    }

    private static FloatVector xAt(MemorySegment x, long from, int k) {
        return FloatVector.fromMemorySegment(F, x, from + (long) k * Float.BYTES, LE);
    }
}
