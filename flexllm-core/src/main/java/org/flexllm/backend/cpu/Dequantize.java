package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.quant.Quantized;

/**
 * Block-quantized weights widened to f32 for the kernels that read f32 rows (the GEMM's weight blocks, the
 * backward product's panels, an embedding row, the GEMV on species {@link BlockGemv} does not take): whole blocks
 * are decoded with the vector code of {@link BlockGemv}'s dot products, and blocks that the range cuts (rare:
 * the kernels ask for whole blocks where they can) through {@link Quantized}, a block at a time.
 */
final class Dequantize {
    private Dequantize() {}

    /** Elements {@code [srcIndex, srcIndex + len)} of {@code dtype} data as f32 at {@code dst[dstIndex]}. */
    static void widen(DType dtype, MemorySegment src, long srcIndex, float[] dst, int dstIndex, int len) {
        int size = dtype.blockSize();
        int head = BlockGemv.supports(dtype) ? (int) Math.min(len, Math.floorMod(-srcIndex, size)) : len;
        int blocks = (len - head) / size;
        int tail = len - head - blocks * size;
        if (head > 0) {
            Quantized.dequantize(dtype, src, srcIndex, dst, dstIndex, head);
        }
        if (blocks > 0) {
            long first = dtype.bytes(srcIndex + head);
            int at = dstIndex + head;
            switch (dtype) {
                case Q8_0, Q4_0 ->
                        BlockGemv.decode(dtype == DType.Q4_0, src, first, dtype.blockBytes(), blocks, dst, at);
                case Q4_K -> Q4KBlocks.decode(src, first, blocks, dst, at);
                case Q6_K -> Q6KBlocks.decode(src, first, blocks, dst, at);
                case F32, F16, BF16 -> throw new IllegalArgumentException(dtype + " is not block-quantized");
            }
        }
        if (tail > 0) {
            Quantized.dequantize(dtype, src, srcIndex + len - tail, dst, dstIndex + len - tail, tail);
        }
    }
}
