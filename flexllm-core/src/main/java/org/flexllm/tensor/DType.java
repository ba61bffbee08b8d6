package org.flexllm.tensor;

import java.util.Locale;

/** Element types a weight tensor may be stored in. Activations are always F32. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
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
}
