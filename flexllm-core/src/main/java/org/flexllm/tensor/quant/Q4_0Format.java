package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0: an f16 scale d, then 16 bytes holding 32 nibbles q; weight i = d·(q − 8), with element i in the low
 * nibble of byte i and element i + 16 in its high nibble.
 */
record Q4_0Format() implements BlockFormat {
    static final Q4_0Format INSTANCE = new Q4_0Format();
    private static final int HALF_SIZE = 16;
    private static final int QS = 2;

    @Override
    public void decode(byte[] block, float[] dst, int at) {
        float d = BlockFormat.half(block, 0);
        for (int i = 0; i < HALF_SIZE; i++) {
            dst[at + i] = d * ((block[QS + i] & 0xF) - 8);
        }
        for (int i = 0; i < HALF_SIZE; i++) {
            dst[at + i + HALF_SIZE] = d * (((block[QS + i] >> 4) & 0xF) - 8);
        }
    }

    /**
     * As ggml: the scale maps the value of largest magnitude to −8, keeping its sign, so it is exact; values of
     * the other sign reach at most +7, a step short of it.
     */
    @Override
    public void encode(float[] src, int at, MemorySegment dst, long offset) {
        float extreme = 0;
        for (int i = at; i < at + 2 * HALF_SIZE; i++) {
            if (Math.abs(src[i]) > Math.abs(extreme)) {
                extreme = src[i];
            }
        }
        // 0 for an all-zero block, not -0.0, which would decode as -0.0.
        float d = BlockFormat.putHalf(dst, offset, extreme == 0 ? 0 : extreme / -8);
        float id = BlockFormat.inverse(d);
        for (int i = 0; i < HALF_SIZE; i++) {
            int low = nibble(src[at + i] * id);
            int high = nibble(src[at + i + HALF_SIZE] * id);
            dst.set(ValueLayout.JAVA_BYTE, offset + QS + i, (byte) (low | high << 4));
        }
    }

    private static int nibble(float scaled) {
        return Math.clamp(Math.round(scaled) + 8, 0, 15);
    }
}
