package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K super-blocks widened in registers, for {@link BlockGemv} (a row's dot product with x) and {@link Dequantize}
 * (f32 for the GEMM panels). A super-block is 256 weights w = d·sc[p / 16]·(q − 32) with 6-bit q. Each half of
 * 128 weights has 64 bytes of low nibbles (ql) and 32 of high bit pairs (qh); its quarter k, weights
 * {@code 32k + l}, takes the low (k &lt; 2) or high nibble of ql byte {@code l + 32·(k mod 2)} and bits
 * {@code 2k, 2k + 1} of qh byte l. Per vector, the two parts are masked and shifted out of their bytes and joined,
 * 32 subtracted, still as bytes, and the result converted to f32 lanes. Needs the species
 * {@link BlockGemv#supports} accepts.
 */
final class Q6KBlocks {
    private static final int SIZE = 256;
    private static final int BYTES = 210;
    private static final int HALF = 128;
    private static final int QUARTER = 32;
    private static final int SUB = 16;
    private static final int QL_HALF = 64;
    private static final int QH = 128;
    private static final int QH_HALF = 32;
    private static final int SCALES = 192;
    private static final int D = 208;

    private Q6KBlocks() {}

    /**
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of the row at byte {@code row} and x from byte {@code xi};
     * one sum per quarter keeps four FMA chains in flight.
     */
    static float dot(MemorySegment data, long row, int blocks, MemorySegment x, long xi) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BYTES;
            float d = BlockGemv.half(data, block + D);
            for (int h = 0; h < 2; h++) {
                long xh = xi + ((long) b * SIZE + (long) h * HALF) * Float.BYTES;
                for (int l = 0; l < QUARTER; l += F.length()) {
                    s0 = weights(data, block, d, h, l, 0).fma(BlockGemv.floatsAt(x, xh, l), s0);
                    s1 = weights(data, block, d, h, l, 1).fma(BlockGemv.floatsAt(x, xh, QUARTER + l), s1);
                    s2 = weights(data, block, d, h, l, 2).fma(BlockGemv.floatsAt(x, xh, 2 * QUARTER + l), s2);
                    s3 = weights(data, block, d, h, l, 3).fma(BlockGemv.floatsAt(x, xh, 3 * QUARTER + l), s3);
                }
            }
        }
        return BlockGemv.sum(s0, s1, s2, s3);
    }

    /** {@code blocks} super-blocks from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(MemorySegment data, long first, int blocks, float[] dst, int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * BYTES;
            float d = BlockGemv.half(data, block + D);
            for (int p = 0; p < SIZE; p += F.length()) {
                weights(data, block, d, p / HALF, p % QUARTER, p % HALF / QUARTER).intoArray(dst, at + b * SIZE + p);
            }
        }
    }

    /**
     * Weights {@code [l, l + F.length())} of quarter k of half h: q − 32 from the low (k &lt; 2) or high nibble of
     * ql byte {@code l + 32·(k mod 2)} under bits 2k, 2k + 1 of qh byte l, times d·sc of their sub-block.
     */
    private static FloatVector weights(MemorySegment data, long block, float d, int h, int l, int k) {
        ByteVector low = BlockGemv.bytes(data, block + h * QL_HALF + k % 2 * QUARTER + l);
        ByteVector nibbles = k < 2 ? low.and((byte) 0xF) : low.lanewise(VectorOperators.LSHR, 4);
        ByteVector top = BlockGemv.bytes(data, block + QH + h * QH_HALF + l)
                .lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3);
        int scale = data.get(ValueLayout.JAVA_BYTE, block + SCALES + (h * HALF + k * QUARTER + l) / SUB);
        return BlockGemv.floats(nibbles.or(top.lanewise(VectorOperators.LSHL, 4)).sub((byte) 32)).mul(d * scale);
    }
}
