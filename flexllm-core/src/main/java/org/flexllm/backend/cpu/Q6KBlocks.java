package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K super-blocks widened in registers, for {@link BlockGemv} (a row's dot product with x) and {@link Dequantize}
 * (f32 for the GEMM's weight blocks). A super-block is 256 weights w = d·sc[p / 16]·(q − 32) with 6-bit q. Each
 * half of 128 weights has 64 bytes of low nibbles (ql) and 32 of high bit pairs (qh); its quarter k, weights
 * {@code 32k + l}, takes the low (k &lt; 2) or high nibble of ql byte {@code l + 32·(k mod 2)} and bits
 * {@code 2k, 2k + 1} of qh byte l. Per vector, the two parts are masked and shifted out of their bytes and joined,
 * 32 subtracted, still as bytes, and the result converted to f32 lanes and scaled. Needs the species
 * {@link BlockGemv#supports} accepts.
 */
final class Q6KBlocks {
    private static final int SIZE = 256;
    private static final int BYTES = 210;
    private static final int HALF = 128;
    private static final int QUARTER = 32;
    private static final int SUB = 16;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    private Q6KBlocks() {}

    /**
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of the row at byte {@code row} and x from byte {@code xi}.
     * Quarters k and k + 2 share their ql and qh bytes, which are read once for both; their sums are two FMA chains.
     * (All four quarters in one loop body made C2 stop inlining the vector code, which then boxed every vector.)
     */
    static float dot(MemorySegment data, long row, int blocks, MemorySegment x, long xi) {
        FloatVector low = FloatVector.zero(F);
        FloatVector high = low;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BYTES;
            float d = BlockGemv.half(data, block + D);
            for (int h = 0; h < 2; h++) {
                long xh = xi + ((long) b * SIZE + (long) h * HALF) * Float.BYTES;
                for (int k = 0; k < 2; k++) {
                    for (int l = 0; l < QUARTER; l += F.length()) {
                        ByteVector nibbles = BlockGemv.bytes(data, ql(block, h, l, k));
                        ByteVector top = BlockGemv.bytes(data, qh(block, h, l));
                        low = values(nibbles, top, k).mul(d * scale(data, block, h, l, k)).fma(x(x, xh, l, k), low);
                        high = values(nibbles, top, k + 2).mul(d * scale(data, block, h, l, k + 2))
                                .fma(x(x, xh, l, k + 2), high);
                    }
                }
            }
        }
        return VectorMath.sumLanes(low.add(high));
    }

    /** {@code blocks} super-blocks from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(MemorySegment data, long first, int blocks, float[] dst, int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * BYTES;
            float d = BlockGemv.half(data, block + D);
            for (int p = 0; p < SIZE; p += F.length()) {
                int h = p / HALF;
                int k = p % HALF / QUARTER;
                int l = p % QUARTER;
                ByteVector low = BlockGemv.bytes(data, ql(block, h, l, k));
                values(low, BlockGemv.bytes(data, qh(block, h, l)), k).mul(d * scale(data, block, h, l, k))
                        .intoArray(dst, at + b * SIZE + p);
            }
        }
    }

    /** Quarter k's q − 32 from its ql bytes {@code low} and the qh bytes {@code top} of the same positions. */
    private static FloatVector values(ByteVector low, ByteVector top, int k) {
        ByteVector nibbles = k < 2 ? low.and((byte) 0xF) : low.lanewise(VectorOperators.LSHR, 4);
        ByteVector pairs = top.lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3);
        return BlockGemv.floats(nibbles.or(pairs.lanewise(VectorOperators.LSHL, 4)).sub((byte) 32));
    }

    /** The ql byte of position l in half h for quarter k (the same for k and k + 2). */
    private static long ql(long block, int h, int l, int k) {
        return block + (long) h * HALF / 2 + k % 2 * QUARTER + l;
    }

    private static long qh(long block, int h, int l) {
        return block + QH + (long) h * QUARTER + l;
    }

    /** The signed 8-bit scale of quarter k's sub-block at position l of half h. */
    private static int scale(MemorySegment data, long block, int h, int l, int k) {
        return data.get(ValueLayout.JAVA_BYTE, block + SCALES + (h * HALF + k * QUARTER + l) / SUB);
    }

    private static FloatVector x(MemorySegment x, long xh, int l, int k) {
        return BlockGemv.floatsAt(x, xh, k * QUARTER + l);
    }
}
