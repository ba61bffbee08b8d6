package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Q8_0: an f16 scale d, then 32 signed bytes q; weight = d·q. */
record Q8_0Format() implements BlockFormat {
    static final Q8_0Format INSTANCE = new Q8_0Format();
    private static final int SIZE = 32;
    private static final int QS = 2;

    @Override
    public void decode(byte[] block, float[] dst, int at) {
        float d = BlockFormat.half(block, 0);
        for (int i = 0; i < SIZE; i++) {
            dst[at + i] = d * block[QS + i];
        }
    }

    @Override
    public void encode(float[] src, int at, MemorySegment dst, long offset) {
        float d = BlockFormat.absMax(src, at, SIZE) / 127;
        BlockFormat.putHalf(dst, offset, d);
        float id = BlockFormat.inverse(d);
        for (int i = 0; i < SIZE; i++) {
            dst.set(ValueLayout.JAVA_BYTE, offset + QS + i, (byte) Math.round(src[at + i] * id));
        }
    }
}
