package org.flexllm.peft.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** One JSON object of a JSONL file, whose getters name the file, the line and the field when something is wrong. */
record JsonLine(Path file, long number, JsonNode json) {
    /** A required string field. */
    String text(String field) {
        JsonNode value = required(field);
        if (!value.isTextual()) {
            throw error("'" + field + "' must be a string, not " + typeName(value));
        }
        return value.textValue();
    }

    /** A required array field. */
    JsonNode array(String field) {
        JsonNode value = required(field);
        if (!value.isArray()) {
            throw error("'" + field + "' must be an array, not " + typeName(value));
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
                throw error("'" + field + "'[" + i + "] = " + id + " is not an integer token id");
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
            throw error("missing field '" + field + "'");
        }
        return value;
    }
}
