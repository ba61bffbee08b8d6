package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The K-quants' 256-weight super-blocks (Q4_K: {@link Q4KBlocks}, Q6_K: {@link Q6KBlocks}) widened in registers, a
 * vector of weights at a time, by {@link BlockGemv} for a row's dot product with x and by {@link Dequantize} into
 * f32 for the GEMM's weight blocks. Needs the species {@link BlockGemv#supports} accepts.
 */
final class SuperBlocks {
    static final int SIZE = 256;

    private SuperBlocks() {}

    /**
     * Σ_k W[k]·x[k] over the {@code blocks} super-blocks of {@code blockBytes} bytes of the row at byte {@code row},
     * with x from byte {@code xi}; four sums keep four FMA chains in flight.
     */
    static float dot(boolean sixBit, MemorySegment data, long row, int blockBytes, int blocks, MemorySegment x,
            long xi) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int step = F.length();
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * blockBytes;
            long xb = xi + (long) b * SIZE * Float.BYTES;
            for (int p = 0; p < SIZE; p += 4 * step) {
                s0 = weights(sixBit, data, block, p).fma(BlockGemv.floatsAt(x, xb, p), s0);
                s1 = weights(sixBit, data, block, p + step).fma(BlockGemv.floatsAt(x, xb, p + step), s1);
                s2 = weights(sixBit, data, block, p + 2 * step).fma(BlockGemv.floatsAt(x, xb, p + 2 * step), s2);
                s3 = weights(sixBit, data, block, p + 3 * step).fma(BlockGemv.floatsAt(x, xb, p + 3 * step), s3);
            }
        }
        return BlockGemv.sum(s0, s1, s2, s3);
    }

    /** {@code blocks} super-blocks of {@code blockBytes} bytes from byte {@code first} as f32 at {@code dst[at]}. */
    static void decode(boolean sixBit, MemorySegment data, long first, int blockBytes, int blocks, float[] dst,
            int at) {
        for (int b = 0; b < blocks; b++) {
            long block = first + (long) b * blockBytes;
            for (int p = 0; p < SIZE; p += F.length()) {
                weights(sixBit, data, block, p).intoArray(dst, at + b * SIZE + p);
            }
        }
    }

    /**
     * Weights {@code [p, p + F.length())} of the super-block at byte {@code block}. The format is the same for a
     * whole loop, which C2 then unswitches.
     */
    private static FloatVector weights(boolean sixBit, MemorySegment data, long block, int p) {
        return sixBit ? Q6KBlocks.weights(data, block, p) : Q4KBlocks.weights(data, block, p);
    }
}
