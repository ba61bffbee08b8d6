package org.flexllm.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Q4_K: a super-block of 256 weights in 8 sub-blocks of 32. Bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales
 * sc and mins m (8 each), 128 bytes of nibbles q. Weight = d·sc[j]·q − dmin·m[j] for sub-block j, in one
 * rounding (an FMA, as the kernels compute it; ggml's C compiles to the same where it contracts to FMAs). The nibbles
 * come in chunks of 64 weights (32 bytes): sub-block 2c in the low nibbles of chunk c, 2c + 1 in the high ones.
 * Scale/min packing: bytes 0–3 hold sc[0..3] in their low 6 bits, bytes 4–7 m[0..3]; bytes 8–11 hold the low
 * 4 bits of sc[4..7] (low nibble) and m[4..7] (high nibble), whose top 2 bits sit in bits 6–7 of bytes 0–3
 * (scales) and 4–7 (mins).
 */
record Q4_KFormat() implements BlockFormat {
    static final Q4_KFormat INSTANCE = new Q4_KFormat();
    private static final int SIZE = 256;
    private static final int SUB = 32;
    private static final int SUBS = SIZE / SUB;
    private static final int SCALES = Q4KScales.OFFSET;
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int QS = 16;
    private static final int MAX_SIX_BITS = 63;
    private static final int MAX_NIBBLE = 15;

    @Override
    public void decode(byte[] block, float[] dst, int at) {
        float d = BlockFormat.half(block, 0);
        float dmin = BlockFormat.half(block, 2);
        long scalesLow = (long) LONG.get(block, SCALES);
        int scalesHigh = (int) INT.get(block, SCALES + 8);
        for (int chunk = 0; chunk < SUBS / 2; chunk++) {
            int sub = 2 * chunk;
            float lowScale = d * Q4KScales.scale(scalesLow, scalesHigh, sub);
            float lowMin = dmin * Q4KScales.min(scalesLow, scalesHigh, sub);
            float highScale = d * Q4KScales.scale(scalesLow, scalesHigh, sub + 1);
            float highMin = dmin * Q4KScales.min(scalesLow, scalesHigh, sub + 1);
            int q = QS + chunk * SUB;
            int out = at + chunk * 2 * SUB;
            for (int i = 0; i < SUB; i++) {
                dst[out + i] = Math.fma(lowScale, block[q + i] & 0xF, -lowMin);
            }
            for (int i = 0; i < SUB; i++) {
                dst[out + SUB + i] = Math.fma(highScale, (block[q + i] >> 4) & 0xF, -highMin);
            }
        }
    }

    /**
     * Per sub-block the range [min(x, 0), max(x)] is cut into 15 steps; the sub-blocks' steps and mins are then
     * themselves quantized to 6 bits against the super-block's d and dmin.
     */
    @Override
    public void encode(float[] src, int at, MemorySegment dst, long offset) {
        float[] steps = new float[SUBS];
        float[] mins = new float[SUBS];
        for (int j = 0; j < SUBS; j++) {
            float lo = 0;
            float hi = 0;
            for (int i = at + j * SUB; i < at + (j + 1) * SUB; i++) {
                lo = Math.min(lo, src[i]);
                hi = Math.max(hi, src[i]);
            }
            steps[j] = (hi - lo) / MAX_NIBBLE;
            mins[j] = -lo;
        }
        float d = BlockFormat.putHalf(dst, offset, max(steps) / MAX_SIX_BITS);
        float dmin = BlockFormat.putHalf(dst, offset + 2, max(mins) / MAX_SIX_BITS);
        int[] sc = sixBits(steps, d);
        int[] m = sixBits(mins, dmin);
        for (int j = 0; j < SUBS / 2; j++) {
            put(dst, offset + SCALES + j, sc[j] | (sc[j + 4] >> 4) << 6);
            put(dst, offset + SCALES + 4 + j, m[j] | (m[j + 4] >> 4) << 6);
            put(dst, offset + SCALES + 8 + j, (sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
        }
        for (int p = 0; p < SIZE; p++) {
            int j = p / SUB;
            float id = BlockFormat.inverse(d * sc[j]);
            int q = Math.clamp(Math.round((src[at + p] + dmin * m[j]) * id), 0, MAX_NIBBLE);
            long at4 = offset + QS + quantByte(p);
            put(dst, at4, dst.get(ValueLayout.JAVA_BYTE, at4) & ~(0xF << quantShift(p)) | q << quantShift(p));
        }
    }

    /** The byte of weight p's nibble: chunk p / 64 holds 32 bytes, shared by its two sub-blocks. */
    private static int quantByte(int p) {
        return p / 64 * 32 + p % 32;
    }

    private static int quantShift(int p) {
        return p % 64 / 32 * 4;
    }

    private static int[] sixBits(float[] values, float unit) {
        float inverse = BlockFormat.inverse(unit);
        int[] q = new int[values.length];
        for (int j = 0; j < values.length; j++) {
            q[j] = Math.clamp(Math.round(values[j] * inverse), 0, MAX_SIX_BITS);
        }
        return q;
    }

    private static float max(float[] values) {
        return BlockFormat.absMax(values, 0, values.length);
    }

    private static void put(MemorySegment dst, long at, int value) {
        dst.set(ValueLayout.JAVA_BYTE, at, (byte) value);
    }
}
