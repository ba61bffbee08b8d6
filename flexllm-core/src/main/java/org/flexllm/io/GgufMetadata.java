package org.flexllm.io;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.SequencedMap;
import java.util.function.Predicate;

/**
 * The metadata key-value pairs of a GGUF file, with getters that name the file and the key when a value is
 * missing or of another type ({@link GgufMetadataException}, {@link GgufMetadataTypeException}).
 *
 * @param file   the file, for messages
 * @param values the pairs, in file order
 */
public record GgufMetadata(Path file, SequencedMap<String, GgufValue> values) {
    public GgufMetadata {
        values = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(values));
    }

    /** The value of {@code key}, if present. */
    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public long integer(String key) {
        return optionalInteger(key).orElseThrow(() -> missing(key));
    }

    /** An integer of any width and signedness. */
    public OptionalLong optionalInteger(String key) {
        return typed(key, v -> v.type().isInteger(), "an integer")
                .map(v -> OptionalLong.of((Long) v.value())).orElse(OptionalLong.empty());
    }

    /**
     * An integer that must lie in {@code [min, Integer.MAX_VALUE]}.
     *
     * @throws GgufMetadataException when it is outside
     */
    public int intAtLeast(String key, int min) {
        long value = integer(key);
        if (value < min || value > Integer.MAX_VALUE) {
            throw new GgufMetadataException(file, "key '" + key + "' is " + value + ", outside [" + min + ", "
                    + Integer.MAX_VALUE + "]");
        }
        return (int) value;
    }

    /** A number of any type, integer or float. */
    public OptionalDouble optionalNumber(String key) {
        return typed(key, v -> v.type().isNumber(), "a number")
                .map(v -> OptionalDouble.of(((Number) v.value()).doubleValue())).orElse(OptionalDouble.empty());
    }

    public String string(String key) {
        return optionalString(key).orElseThrow(() -> missing(key));
    }

    public Optional<String> optionalString(String key) {
        return typed(key, v -> v.type() == GgufType.STRING, "a STRING").map(v -> (String) v.value());
    }

    public Optional<Boolean> optionalBool(String key) {
        return typed(key, v -> v.type() == GgufType.BOOL, "a BOOL").map(v -> (Boolean) v.value());
    }

    /** An array of strings; empty when absent. */
    public List<String> strings(String key) {
        return typed(key, v -> v.elementType() == GgufType.STRING, "an ARRAY of STRING")
                .map(v -> v.elements().stream().map(String.class::cast).toList()).orElse(List.of());
    }

    /** An array of FLOAT32; empty when absent. */
    public float[] floats(String key) {
        return typed(key, v -> v.elementType() == GgufType.FLOAT32, "an ARRAY of FLOAT32").map(v -> {
            float[] floats = new float[v.elements().size()];
            for (int i = 0; i < floats.length; i++) {
                floats[i] = (Float) v.elements().get(i);
            }
            return floats;
        }).orElse(new float[0]);
    }

    /** An array of integers of any width, each in int range; empty when absent. */
    public int[] ints(String key) {
        return typed(key, v -> v.elementType() != null && v.elementType().isInteger(), "an ARRAY of integers")
                .map(v -> v.elements().stream().mapToInt(e -> toInt(key, (Long) e)).toArray()).orElse(new int[0]);
    }

    private int toInt(String key, long value) {
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw new GgufMetadataException(file, "key '" + key + "' holds " + value + ", outside the int range");
        }
        return (int) value;
    }

    private Optional<GgufValue> typed(String key, Predicate<GgufValue> type, String expected) {
        GgufValue value = values.get(key);
        if (value != null && !type.test(value)) {
            throw new GgufMetadataTypeException(file, "key '" + key + "' is " + value.typeName() + ", not "
                    + expected);
        }
        return Optional.ofNullable(value);
    }

    private GgufMetadataException missing(String key) {
        return new GgufMetadataException(file, "key '" + key + "' is missing");
    }
}
