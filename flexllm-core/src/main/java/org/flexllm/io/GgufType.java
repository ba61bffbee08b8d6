package org.flexllm.io;

/**
 * The types of GGUF metadata values, in the order of their ids in the file (the ordinal is the id). Integers are
 * held as {@code long} (a UINT64 above {@link Long#MAX_VALUE} reads as negative), FLOAT32 as {@code float},
 * FLOAT64 as {@code double}.
 */
public enum GgufType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(8), ARRAY(12),
    UINT64(8), INT64(8), FLOAT64(8);

    private final int minBytes;

    GgufType(int minBytes) {
        this.minBytes = minBytes;
    }

    /** The fewest bytes a value takes in the file (a string's length, an array's type and length). */
    int minBytes() {
        return minBytes;
    }

    /** Whether values are integers. */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    /** Whether values are numbers (integers or floats). */
    public boolean isNumber() {
        return isInteger() || this == FLOAT32 || this == FLOAT64;
    }

    /** The type with id {@code id}, or null when there is none. */
    static GgufType byId(long id) {
        return id >= 0 && id < values().length ? values()[(int) id] : null;
    }
}
