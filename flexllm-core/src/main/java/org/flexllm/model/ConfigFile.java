package org.flexllm.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.SequencedMap;
import java.util.function.Predicate;
import org.flexllm.io.Json;

/**
 * A JSON object from a config file, whose getters name the file and the field when a value is missing or
 * has the wrong type. A JSON {@code null} counts as absent, as it does for Hugging Face.
 */
final class ConfigFile {
    private final Path file;
    private final String prefix;
    private final JsonNode object;

    private ConfigFile(Path file, String prefix, JsonNode object) {
        this.file = file;
        this.prefix = prefix;
        this.object = object;
    }

    static ConfigFile read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new InvalidConfigException(file, "not UTF-8 text: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config file " + file, e);
        }
        JsonNode root;
        try {
            root = Json.parse(text);
        } catch (JsonProcessingException e) {
            throw new InvalidConfigException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!root.isObject()) {
            throw new InvalidConfigException(file, "not a JSON object");
        }
        return new ConfigFile(file, "", root);
    }

    Path file() {
        return file;
    }

    /** The nested object {@code field}, whose errors name it as {@code field.child}. */
    Optional<ConfigFile> object(String field) {
        return value(field, JsonNode::isObject, "an object").map(v -> new ConfigFile(file, prefix + field + ".", v));
    }

    int requiredInt(String field, int min) {
        return optionalInt(field, min).orElseThrow(() -> missing(field));
    }

    OptionalInt optionalInt(String field, int min) {
        return value(field, ConfigFile::isInt, "an integer")
                .map(v -> OptionalInt.of(atLeast(field, v.intValue(), min)))
                .orElse(OptionalInt.empty());
    }

    double requiredDouble(String field) {
        return optionalDouble(field).orElseThrow(() -> missing(field));
    }

    OptionalDouble optionalDouble(String field) {
        return value(field, JsonNode::isNumber, "a number")
                .map(v -> OptionalDouble.of(v.doubleValue()))
                .orElse(OptionalDouble.empty());
    }

    Optional<String> optionalString(String field) {
        return value(field, JsonNode::isTextual, "a string").map(JsonNode::textValue);
    }

    Optional<Boolean> optionalBoolean(String field) {
        return value(field, JsonNode::isBoolean, "true or false").map(JsonNode::booleanValue);
    }

    /** An array of strings; empty when absent. */
    List<String> stringList(String field) {
        return value(field, v -> v.isArray() && v.valueStream().allMatch(JsonNode::isTextual), "an array of strings")
                .map(v -> v.valueStream().map(JsonNode::textValue).toList())
                .orElse(List.of());
    }

    /** Token ids given as one number or a list, as HF allows for {@code eos_token_id}; empty when absent. */
    List<Integer> idList(String field) {
        Predicate<JsonNode> idOrIds = v -> isId(v) || v.isArray() && v.valueStream().allMatch(ConfigFile::isId);
        return value(field, idOrIds, "a token id or a list of them")
                .map(v -> v.isArray() ? v.valueStream().map(JsonNode::intValue).toList() : List.of(v.intValue()))
                .orElse(List.of());
    }

    /** An object whose values are all strings, in file order; empty when absent. */
    SequencedMap<String, String> stringMap(String field) {
        SequencedMap<String, String> map = new LinkedHashMap<>();
        value(field, v -> v.isObject() && v.valueStream().allMatch(JsonNode::isTextual), "an object of strings")
                .ifPresent(v -> v.properties().forEach(e -> map.put(e.getKey(), e.getValue().textValue())));
        return map;
    }

    InvalidConfigException error(String field, String problem) {
        return new InvalidConfigException(file, "'" + prefix + field + "' " + problem);
    }

    InvalidConfigException missing(String field) {
        return error(field, "is missing");
    }

    private Optional<JsonNode> value(String field, Predicate<JsonNode> type, String typeName) {
        JsonNode v = object.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!type.test(v)) {
            throw error(field, "is " + v + ", not " + typeName);
        }
        return Optional.of(v);
    }

    private int atLeast(String field, int value, int min) {
        if (value < min) {
            throw error(field, "is " + value + ", below the minimum " + min);
        }
        return value;
    }

    private static boolean isInt(JsonNode v) {
        return v.isIntegralNumber() && v.canConvertToInt();
    }

    private static boolean isId(JsonNode v) {
        return isInt(v) && v.intValue() >= 0;
    }
}
