package org.flexllm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The golden tokenizer files of {@code shared/golden/tokenizer} and the tokenizers they were made with. */
final class Golden {
    static final Path SHARED = Path.of(System.getProperty("flexllm.shared", "../shared"));
    static final Path DIR = SHARED.resolve("golden/tokenizer");
    static final List<String> NAMES = List.of("llama3", "qwen3", "llama2", "mistral", "stories260K");

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    /** One line of {@code <name>.jsonl}. */
    record Line(String tokenizer, String id, JsonNode json) {
        String text() {
            return json.get("text").textValue();
        }

        int[] ids(String field) {
            JsonNode ids = json.get(field);
            int[] values = new int[ids.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = ids.get(i).intValue();
            }
            return values;
        }

        String string(String field) {
            return json.get(field).textValue();
        }

        @Override
        public String toString() {
            return tokenizer + " " + id;
        }
    }

    private Golden() {
    }

    /** The tokenizer {@code meta.json} names for {@code name}, loaded once per test run. */
    static Tokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, n -> Tokenizer.load(folder(n)));
    }

    /** The folder of the tokenizer {@code meta.json} names for {@code name}. */
    static Path folder(String name) {
        return SHARED.resolve(read(DIR.resolve("meta.json")).get("tokenizers").get(name).get("tokenizer_dir")
                .textValue());
    }

    /** Every line of every golden file, as (line) arguments. */
    static Stream<Arguments> lines() {
        return NAMES.stream().flatMap(name -> lines(name).map(Arguments::of));
    }

    static Stream<Line> lines(String name) {
        try {
            return Files.readAllLines(DIR.resolve(name + ".jsonl")).stream()
                    .map(Golden::parse)
                    .map(json -> new Line(name, json.get("id").textValue(), json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode parse(String line) {
        try {
            return MAPPER.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
