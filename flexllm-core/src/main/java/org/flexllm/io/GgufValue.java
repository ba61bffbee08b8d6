package org.flexllm.io;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value: a scalar ({@code Long} for integers, {@code Float}, {@code Double}, {@code Boolean},
 * {@code String}) or an array, whose elements are such scalars of {@code elementType} (arrays of arrays are
 * lists of {@code GgufValue}).
 *
 * @param type        the value's type
 * @param elementType for an ARRAY, its elements' type; null otherwise
 * @param value       the scalar, or the {@code List} of elements
 */
public record GgufValue(GgufType type, GgufType elementType, Object value) {
    public GgufValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        if ((type == GgufType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("an element type goes with an ARRAY only, not " + type);
        }
        if (value instanceof List<?> list) {
            value = List.copyOf(list);
        }
    }

    public static GgufValue string(String value) {
        return new GgufValue(GgufType.STRING, null, value);
    }

    public static GgufValue uint32(long value) {
        return new GgufValue(GgufType.UINT32, null, value);
    }

    public static GgufValue float32(float value) {
        return new GgufValue(GgufType.FLOAT32, null, value);
    }

    public static GgufValue bool(boolean value) {
        return new GgufValue(GgufType.BOOL, null, value);
    }

    public static GgufValue strings(List<String> values) {
        return new GgufValue(GgufType.ARRAY, GgufType.STRING, values);
    }

    public static GgufValue float32s(float[] values) {
        Float[] boxed = new Float[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return new GgufValue(GgufType.ARRAY, GgufType.FLOAT32, List.of(boxed));
    }

    public static GgufValue int32s(int[] values) {
        return new GgufValue(GgufType.ARRAY, GgufType.INT32,
                Arrays.stream(values).mapToObj(v -> (Object) (long) v).toList());
    }

    /** The elements of an ARRAY. */
    public List<?> elements() {
        return (List<?>) value;
    }

    /** How the type reads in messages: {@code UINT32}, {@code ARRAY of STRING}. */
    public String typeName() {
        return elementType == null ? type.name() : type + " of " + elementType;
    }
}
