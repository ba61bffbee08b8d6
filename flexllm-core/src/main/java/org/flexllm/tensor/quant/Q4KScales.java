package org.flexllm.tensor.quant;

/**
 * Q4_K's 6-bit sub-block scales and mins (see {@link BlockFormat}'s Q4_K layout), unpacked from its twelve
 * packed bytes read as two little-endian words: {@code low} holds bytes 0–7, {@code high} bytes 8–11. Kernels
 * read the two words once per super-block and unpack in registers.
 */
public final class Q4KScales {
    /** Byte offset of the packed scales in a Q4_K block (after the f16 d and dmin). */
    public static final int OFFSET = 4;
    private static final int SIX_BITS = 63;
    private static final int NIBBLE = 0xF;

    private Q4KScales() {}

    /**
     * sc[j]: bytes 0–3 hold sc[0..3] in their low 6 bits; sc[4..7] is byte j + 4's low nibble under byte j − 4's
     * top 2 bits.
     */
    public static int scale(long low, int high, int j) {
        if (j < 4) {
            return (int) (low >>> 8 * j) & SIX_BITS;
        }
        return high >>> 8 * (j - 4) & NIBBLE | topTwo(low, j - 4) << 4;
    }

    /**
     * m[j]: bytes 4–7 hold m[0..3] in their low 6 bits; m[4..7] is byte j + 4's high nibble under byte j's top 2
     * bits.
     */
    public static int min(long low, int high, int j) {
        if (j < 4) {
            return (int) (low >>> 8 * (j + 4)) & SIX_BITS;
        }
        return high >>> 8 * (j - 4) + 4 & NIBBLE | topTwo(low, j) << 4;
    }

    /** Bits 6–7 of byte {@code b} of {@code low}. */
    private static int topTwo(long low, int b) {
        return (int) (low >>> 8 * b + 6) & 3;
    }
}
