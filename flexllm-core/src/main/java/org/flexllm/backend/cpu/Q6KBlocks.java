package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K super-blocks in registers (see {@link SuperBlocks}): 256 weights w = d·sc[p / 16]·(q − 32) with 6-bit q.
 * Each half of 128 weights has 64 bytes of low nibbles (ql) and 32 of high bit pairs (qh); its quarter k, weights
 * {@code 32k + l}, takes the low (k &lt; 2) or high nibble of ql byte {@code l + 32·(k mod 2)} and bits
 * {@code 2k, 2k + 1} of qh byte l. Per vector, the two parts are masked and shifted out of their bytes and joined,
 * 32 subtracted, still as bytes, and the result converted to f32 lanes and scaled.
 */
final class Q6KBlocks {
    private static final int HALF = 128;
    private static final int QUARTER = 32;
    private static final int SUB = 16;
    private static final int QL_HALF = 64;
    private static final int QH = 128;
    private static final int QH_HALF = 32;
    private static final int SCALES = 192;
    private static final int D = 208;

    private Q6KBlocks() {}

    /** Weights {@code [p, p + F.length())} of the super-block at byte {@code block}, all in sub-block p / 16. */
    static FloatVector weights(MemorySegment data, long block, int p) {
        int h = p / HALF;
        int k = p % HALF / QUARTER;
        int l = p % QUARTER;
        ByteVector low = BlockGemv.bytes(data, block + h * QL_HALF + k % 2 * QUARTER + l);
        ByteVector nibbles = k < 2 ? low.and((byte) 0xF) : low.lanewise(VectorOperators.LSHR, 4);
        ByteVector top = BlockGemv.bytes(data, block + QH + h * QH_HALF + l)
                .lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3);
        float scale = BlockGemv.half(data, block + D) * data.get(ValueLayout.JAVA_BYTE, block + SCALES + p / SUB);
        return BlockGemv.floats(nibbles.or(top.lanewise(VectorOperators.LSHL, 4)).sub((byte) 32)).mul(scale);
    }
}
