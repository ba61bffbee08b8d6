package org.flexllm.tensor;

import java.util.Arrays;
import java.util.Locale;

/**
 * Element types a weight tensor may be stored in. Activations are always F32.
 *
 * <p>F32, F16 and BF16 store each element on its own. The quantized types of llama.cpp (Q8_0, Q4_0, Q4_K, Q6_K)
 * store fixed-size blocks of {@link #blockSize()} elements in {@link #blockBytes()} bytes each (scales and packed
 * integers, see {@link org.flexllm.tensor.quant.BlockFormat}); a quantized matrix row holds whole blocks.
 */
public enum DType {
    F32(4, 1),
    F16(2, 1),
    BF16(2, 1),
    /** 32 elements: an f16 scale and 32 signed bytes; 8.5 bits per weight. */
    Q8_0(34, 32),
    /** 32 elements: an f16 scale and 32 unsigned nibbles centred on 8; 4.5 bits per weight. */
    Q4_0(18, 32),
    /** 256 elements in 8 sub-blocks of 32 with 6-bit scales and mins; 4.5 bits per weight. */
    Q4_K(144, 256),
    /** 256 elements in 16 sub-blocks of 16 with 8-bit scales, 6-bit values; 6.5625 bits per weight. */
    Q6_K(210, 256);

    private final int blockBytes;
    private final int blockSize;

    DType(int blockBytes, int blockSize) {
        this.blockBytes = blockBytes;
        this.blockSize = blockSize;
    }

    /**
     * Bytes per element of an unquantized type.
     *
     * @throws UnsupportedOperationException for a quantized type, whose elements have no whole byte count:
     *                                       use {@link #bytes(long)}
     */
    public int byteSize() {
        if (isQuantized()) {
            throw new UnsupportedOperationException(this + " stores blocks of " + blockSize
                    + " elements, not whole bytes per element; use bytes(elements)");
        }
        return blockBytes;
    }

    /** Elements per block: 1 for F32, F16 and BF16. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block (per element for F32, F16 and BF16). */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether elements are stored in blocks with shared scales. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes that {@code elements} elements take.
     *
     * @throws IllegalArgumentException when {@code elements} is not a whole number of blocks
     * @throws ArithmeticException      when the count overflows a long
     */
    public long bytes(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements are not a whole number of " + this
                    + " blocks of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /**
     * The dtype for a safetensors header's {@code dtype} string.
     *
     * @throws IllegalArgumentException naming the dtype when it is not one we compute with
     */
    public static DType fromSafetensors(String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> throw new IllegalArgumentException(
                    "unsupported dtype '" + name + "' (supported: F32, F16, BF16)");
        };
    }

    /**
     * The dtype a user names ({@code bf16}, {@code q8_0}, case-insensitive).
     *
     * @throws IllegalArgumentException naming the known dtypes when {@code name} is none of them
     */
    public static DType parse(String name) {
        for (DType d : values()) {
            if (d.name().equalsIgnoreCase(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "'; known: "
                + Arrays.toString(values()).toLowerCase(Locale.ROOT));
    }
}
