package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.tensor.quant.Q4KScales;

/**
 * Q4_K super-blocks in registers (see {@link SuperBlocks}): 256 weights w = d·sc[j]·q − dmin·m[j] in 8 sub-blocks
 * j of 32, whose nibbles q come in 4 chunks of 32 bytes, sub-block 2c in chunk c's low nibbles and 2c + 1 in its
 * high ones. The scales and mins are unpacked from two words; a vector of nibbles is masked or shifted out of its
 * bytes, converted to f32 lanes and scaled by one FMA, as {@link org.flexllm.tensor.quant.BlockFormat#decode}
 * computes it.
 */
final class Q4KBlocks {
    private static final int QS = 16;
    private static final int SUB = 32;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private Q4KBlocks() {}

    /**
     * Weights {@code [p, p + F.length())} of the super-block at byte {@code block}, all in sub-block p / 32. Its
     * scale and min are unpacked for every vector: C2 merges the reads and the arithmetic of a sub-block's vectors.
     */
    static FloatVector weights(MemorySegment data, long block, int p) {
        int j = p / SUB;
        long scalesLow = data.get(LONG, block + Q4KScales.OFFSET);
        int scalesHigh = data.get(INT, block + Q4KScales.OFFSET + Long.BYTES);
        float scale = BlockGemv.half(data, block) * Q4KScales.scale(scalesLow, scalesHigh, j);
        float min = BlockGemv.half(data, block + 2) * Q4KScales.min(scalesLow, scalesHigh, j);
        ByteVector bytes = BlockGemv.bytes(data, block + QS + (long) j / 2 * SUB + p % SUB);
        ByteVector q = j % 2 == 0 ? bytes.and((byte) 0xF) : bytes.lanewise(VectorOperators.LSHR, 4);
        return BlockGemv.floats(q).fma(scale, -min);
    }
}
