package org.flexllm.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The server's JSON: records written with OpenAI's snake_case names ({@code finishReason} as
 * {@code finish_reason}), nulls kept since OpenAI's objects carry them ({@code "logprobs": null}).
 */
public final class Json {
    /** Shared: Jackson's mapper is thread-safe once configured. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private Json() {}

    /** {@code value} as JSON bytes. */
    public static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code value} as a JSON string. */
    public static String string(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * A request body as a JSON object.
     *
     * @throws ApiError 400 when it is not JSON, or not an object
     */
    public static JsonNode parseObject(byte[] body) {
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            // Bytes in memory fail to read only as text: an encoding Jackson detects but cannot decode (UCS-4).
            throw ApiError.badRequest("the request body is not UTF-8 JSON text: " + e.getMessage(), null);
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest("the request body must be a JSON object", null);
        }
        return node;
    }

    /** Reads a value stored by this server (job and file records). */
    public static <T> T read(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a stored " + type.getSimpleName(), e);
        }
    }
}
