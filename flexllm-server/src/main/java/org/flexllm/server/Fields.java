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
    /** The fields of a request body. */
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

    /** The field, empty when absent or null. */
    public Optional<JsonNode> field(String name) {
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    public Optional<String> string(String name) {
        return typed(name, JsonNode::isTextual, "a string").map(JsonNode::asText);
    }

    /** A string field that must be there; a 400 naming it otherwise. */
    public String requiredString(String name) {
        return string(name).orElseThrow(() -> ApiError.badRequest("'" + prefix + name + "' is required", prefix + name));
    }

    public OptionalInt integer(String name) {
        return typed(name, v -> v.isIntegralNumber() && v.canConvertToInt(), "an integer")
                .map(v -> OptionalInt.of(v.asInt())).orElse(OptionalInt.empty());
    }

    public OptionalLong longInteger(String name) {
        return typed(name, v -> v.isIntegralNumber() && v.canConvertToLong(), "an integer")
                .map(v -> OptionalLong.of(v.asLong())).orElse(OptionalLong.empty());
    }

    public OptionalDouble number(String name) {
        return typed(name, JsonNode::isNumber, "a number").map(v -> OptionalDouble.of(v.asDouble()))
                .orElse(OptionalDouble.empty());
    }

    /** The field when present, after checking its type. */
    private Optional<JsonNode> typed(String name, java.util.function.Predicate<JsonNode> ok, String expected) {
        Optional<JsonNode> v = field(name);
        v.ifPresent(n -> require(ok.test(n), name, expected));
        return v;
    }

    public Optional<Boolean> bool(String name) {
        return typed(name, JsonNode::isBoolean, "true or false").map(JsonNode::asBoolean);
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
