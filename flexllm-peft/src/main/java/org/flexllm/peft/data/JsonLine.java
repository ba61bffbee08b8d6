package org.flexllm.peft.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * A JSON object on one line of a JSONL file (the line itself, or an object inside it at {@code path}, such as
 * {@code messages[2].}), whose getters name the file, the line and the field when something is wrong.
 */
record JsonLine(Path file, long number, JsonNode json, String path) {
    JsonLine(Path file, long number, JsonNode json) {
        this(file, number, json, "");
    }

    /** The object at {@code name[index]} of this one. */
    JsonLine element(String name, int index) {
        JsonNode node = array(name).get(index);
        String elementPath = path + name + "[" + index + "]";
        if (!node.isObject()) {
            throw error("'" + elementPath + "' must be an object, not " + typeName(node));
        }
        return new JsonLine(file, number, node, elementPath + ".");
    }

    /** A required string field. */
    String text(String field) {
        JsonNode value = required(field);
        if (!value.isTextual()) {
            throw error("'" + path + field + "' must be a string, not " + typeName(value));
        }
        return value.textValue();
    }

    /** A required array field. */
    JsonNode array(String field) {
        JsonNode value = required(field);
        if (!value.isArray()) {
            throw error("'" + path + field + "' must be an array, not " + typeName(value));
        }
        return value;
    }

    /** A required array of integers. */
    int[] ids(String field) {
        JsonNode array = array(field);
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw error("'" + path + field + "'[" + i + "] = " + id + " is not an integer token id");
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    /** An optional array of integers (absent or null: empty). */
    Optional<int[]> optionalIds(String field) {
        JsonNode value = json.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(ids(field));
    }

    DatasetFormatException error(String problem) {
        return new DatasetFormatException(file, number, problem);
    }

    private static String typeName(JsonNode value) {
        return value.getNodeType().name().toLowerCase(Locale.ROOT);
    }

    private JsonNode required(String field) {
        JsonNode value = json.get(field);
        if (value == null || value.isNull()) {
            throw error("missing field '" + path + field + "'");
        }
        return value;
    }
}
