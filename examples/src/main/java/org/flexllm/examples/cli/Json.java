package org.flexllm.examples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The command line's JSON: records written as one-line objects with snake_case names, JSONL read back. */
final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    private Json() {}

    /** {@code value} as one line of JSON: a record component {@code promptIds} becomes {@code "prompt_ids"}. */
    static String line(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON values of a JSONL file, one after the other, each read as a {@code type}. */
    static <T> MappingIterator<T> values(Path file, Class<T> type) throws IOException {
        return MAPPER.readerFor(type).readValues(file.toFile());
    }
}
