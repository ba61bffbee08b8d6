package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q6_K: a super-block of 256 weights in 16 sub-blocks of 16. Bytes: 128 of low 4 bits (ql), 64 of high 2 bits
 * (qh), 16 signed 8-bit sub-block scales, f16 d. Weight p = d·scale[p / 16]·(q − 32) with q the 6-bit value.
 * Each half of 128 weights uses 64 ql and 32 qh bytes: its quarter k (32 weights, position l) takes ql byte
 * {@code l + 32·(k mod 2)}, low nibble for k &lt; 2, high for k ≥ 2, and bits {@code 2k, 2k+1} of qh byte l.
 */
record Q6_KFormat() implements BlockFormat {
    static final Q6_KFormat INSTANCE = new Q6_KFormat();
    private static final int SIZE = 256;
    private static final int SUB = 16;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;
    private static final int OFFSET = 32;
    private static final int MAX_SCALE = 127;

    @Override
    public void decode(byte[] block, float[] dst, int at) {
        float d = BlockFormat.half(block, D);
        for (int half = 0; half < 2; half++) {
            int ql = half * 64;
            int qh = QH + half * 32;
            int out = at + half * 128;
            int scales = SCALES + half * 8;
            for (int quarter = 0; quarter < 4; quarter++) {
                int low = ql + quarter % 2 * 32;
                int lowShift = quarter / 2 * 4;
                int highShift = quarter * 2;
                for (int sub = 0; sub < 2; sub++) {
                    float scale = d * block[scales + quarter * 2 + sub];
                    for (int l = sub * SUB; l < (sub + 1) * SUB; l++) {
                        int q = (block[low + l] >> lowShift & 0xF) | (block[qh + l] >> highShift & 3) << 4;
                        dst[out + quarter * 32 + l] = scale * (q - OFFSET);
                    }
                }
            }
        }
    }

    /** Each sub-block's step maps its largest |x| to 31; the steps are quantized to 8 bits against d. */
    @Override
    public void encode(float[] src, int at, MemorySegment dst, long offset) {
        float[] steps = new float[SIZE / SUB];
        for (int j = 0; j < steps.length; j++) {
            steps[j] = BlockFormat.absMax(src, at + j * SUB, SUB) / (OFFSET - 1);
        }
        float d = BlockFormat.putHalf(dst, offset + D, BlockFormat.absMax(steps, 0, steps.length) / MAX_SCALE);
        float id = BlockFormat.inverse(d);
        for (int j = 0; j < steps.length; j++) {
            dst.set(ValueLayout.JAVA_BYTE, offset + SCALES + j, (byte) Math.min(MAX_SCALE, Math.round(steps[j] * id)));
        }
        dst.asSlice(offset, SCALES).fill((byte) 0);
        for (int p = 0; p < SIZE; p++) {
            float step = d * dst.get(ValueLayout.JAVA_BYTE, offset + SCALES + p / SUB);
            int q = Math.clamp(Math.round(src[at + p] * BlockFormat.inverse(step)), -OFFSET, OFFSET - 1) + OFFSET;
            or(dst, offset + lowByte(p), (q & 0xF) << lowShift(p));
            or(dst, offset + highByte(p), (q >> 4) << highShift(p));
        }
    }

    private static int lowByte(int p) {
        return p / 128 * 64 + p % 32 + p % 128 / 32 % 2 * 32;
    }

    private static int lowShift(int p) {
        return p % 128 / 64 * 4;
    }

    private static int highByte(int p) {
        return QH + p / 128 * 32 + p % 32;
    }

    private static int highShift(int p) {
        return p % 128 / 32 * 2;
    }

    private static void or(MemorySegment dst, long at, int bits) {
        dst.set(ValueLayout.JAVA_BYTE, at, (byte) (dst.get(ValueLayout.JAVA_BYTE, at) | bits));
    }
}
