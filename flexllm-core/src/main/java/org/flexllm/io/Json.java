package org.flexllm.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one JSON reading configuration of the library's file formats. It is strict about duplicate keys and
 * trailing content, because a silently dropped duplicate (a tensor listed twice, a config key given twice)
 * hides a broken file behind a model that loads but computes the wrong thing.
 */
public final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {}

    /**
     * Parses one JSON document.
     *
     * @throws JsonProcessingException when the text is not exactly one valid JSON value with unique keys
     */
    public static JsonNode parse(String json) throws JsonProcessingException {
        return MAPPER.readTree(json);
    }
}
