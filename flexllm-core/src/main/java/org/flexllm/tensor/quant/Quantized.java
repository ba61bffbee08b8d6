package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.flexllm.tensor.DType;

/**
 * Element-range access to block-quantized data, which is stored a whole block at a time: ranges that start or
 * end inside a block decode that block into a per-thread buffer and copy the part asked for.
 */
public final class Quantized {
    /** Per thread: the bytes of the block being decoded, and the whole block when a range cuts it. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);
    private static final int LARGEST_BLOCK = 256;

    private record Buffers(byte[] bytes, float[] partial) {
        Buffers() {
            this(new byte[LARGEST_BLOCK], new float[LARGEST_BLOCK]);
        }
    }

    private Quantized() {}

    /**
     * Elements {@code [element, element + len)} of {@code dtype} data as f32 at {@code dst[at]}; element 0 is the
     * first weight of the block at byte 0.
     */
    public static void dequantize(DType dtype, MemorySegment data, long element, float[] dst, int at, int len) {
        BlockFormat format = BlockFormat.of(dtype);
        Buffers buffers = BUFFERS.get();
        int size = dtype.blockSize();
        long block = element / size;
        int skip = (int) (element % size);
        while (len > 0) {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, block * dtype.blockBytes(), buffers.bytes(), 0,
                    dtype.blockBytes());
            if (skip == 0 && len >= size) {
                format.decode(buffers.bytes(), dst, at);
                at += size;
                len -= size;
            } else {
                float[] whole = buffers.partial();
                format.decode(buffers.bytes(), whole, 0);
                int count = Math.min(size - skip, len);
                System.arraycopy(whole, skip, dst, at, count);
                at += count;
                len -= count;
                skip = 0;
            }
            block++;
        }
    }

    /** Element {@code element}, decoded alone: for tests and cold paths. */
    public static float get(DType dtype, MemorySegment data, long element) {
        float[] one = new float[1];
        dequantize(dtype, data, element, one, 0, 1);
        return one[0];
    }

    /**
     * Quantizes {@code src[at, at + len)} into whole blocks written from byte {@code offset} of {@code dst}.
     *
     * @throws IllegalArgumentException when {@code len} is not a whole number of blocks
     */
    public static void quantize(DType dtype, float[] src, int at, int len, MemorySegment dst, long offset) {
        BlockFormat format = BlockFormat.of(dtype);
        int size = dtype.blockSize();
        if (len % size != 0) {
            throw new IllegalArgumentException(len + " values are not whole " + dtype + " blocks of " + size);
        }
        for (int b = 0; b < len / size; b++) {
            format.encode(src, at + b * size, dst, offset + (long) b * dtype.blockBytes());
        }
    }
}
