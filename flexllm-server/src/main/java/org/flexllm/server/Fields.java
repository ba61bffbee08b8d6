package org.flexllm.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Typed reads of a request's JSON fields: an absent or null field is empty, a field of the wrong type is a 400
 * naming the field and the type it should have (OpenAI's clients send JSON of any shape).
 *
 * @param node   the object read from
 * @param prefix the path of {@code node} in the request, for messages ({@code ""} at the top, else ending in '.')
 */
public record Fields(JsonNode node, String prefix) {
    public static Fields of(JsonNode node) {
        return new Fields(node, "");
    }

    /** An object without fields at {@code prefix}: every read is empty, so defaults apply. */
    public static Fields empty(String prefix) {
        return new Fields(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), prefix);
    }

    /** The fields of a nested object, or empty when absent. */
    public Optional<Fields> object(String name) {
        return field(name).map(v -> {
            require(v.isObject(), name, "an object");
            return new Fields(v, prefix + name + ".");
        });
    }

    public Optional<JsonNode> field(String name) {
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    public Optional<String> string(String name) {
        return field(name).map(v -> {
            require(v.isTextual(), name, "a string");
            return v.asText();
        });
    }

    public String requiredString(String name) {
        return string(name).orElseThrow(() -> ApiError.badRequest("'" + prefix + name + "' is required", prefix + name));
    }

    public OptionalInt integer(String name) {
        Optional<JsonNode> v = field(name);
        if (v.isEmpty()) {
            return OptionalInt.empty();
        }
        require(v.get().canConvertToInt() && v.get().isIntegralNumber(), name, "an integer");
        return OptionalInt.of(v.get().asInt());
    }

    public OptionalLong longInteger(String name) {
        Optional<JsonNode> v = field(name);
        if (v.isEmpty()) {
            return OptionalLong.empty();
        }
        require(v.get().isIntegralNumber() && v.get().canConvertToLong(), name, "an integer");
        return OptionalLong.of(v.get().asLong());
    }

    public OptionalDouble number(String name) {
        Optional<JsonNode> v = field(name);
        if (v.isEmpty()) {
            return OptionalDouble.empty();
        }
        require(v.get().isNumber(), name, "a number");
        return OptionalDouble.of(v.get().asDouble());
    }

    public Optional<Boolean> bool(String name) {
        return field(name).map(v -> {
            require(v.isBoolean(), name, "true or false");
            return v.asBoolean();
        });
    }

    /** A string or an array of strings, as OpenAI's {@code stop} is. */
    public List<String> strings(String name) {
        Optional<JsonNode> v = field(name);
        if (v.isEmpty()) {
            return List.of();
        }
        if (v.get().isTextual()) {
            return List.of(v.get().asText());
        }
        require(v.get().isArray(), name, "a string or an array of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v.get()) {
            require(e.isTextual(), name, "a string or an array of strings");
            out.add(e.asText());
        }
        return out;
    }

    /** A 400 naming the field and what it should be, unless {@code ok}. */
    public void require(boolean ok, String name, String expected) {
        if (!ok) {
            throw ApiError.badRequest("'" + prefix + name + "' must be " + expected, prefix + name);
        }
    }

    /** A 400 about a field whose value is of the right type but out of range. */
    public ApiError invalid(String name, String why) {
        return ApiError.badRequest("'" + prefix + name + "' " + why, prefix + name);
    }
}
