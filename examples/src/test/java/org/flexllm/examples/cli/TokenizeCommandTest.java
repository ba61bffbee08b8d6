package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Against the golden encodings of the stories260K tokenizer; these pass once the real tokenizer is merged. */
class TokenizeCommandTest {
    private static final Path GOLDEN = Cli.SHARED.resolve("golden/tokenizer/stories260K.jsonl");
    private static final List<JsonNode> LINES = Cli.jsonLines(GOLDEN);

    static Stream<JsonNode> someLines() {
        return LINES.stream().limit(12);
    }

    @Test
    void inputFileIsAnsweredLineByLine() {
        Cli.Result r = Cli.run("tokenize", "--tokenizer", Cli.STORIES.toString(), "--input", GOLDEN.toString(),
                "--json");
        assertEquals(0, r.exitCode(), r.err());
        List<JsonNode> out = r.jsonLines();
        assertEquals(LINES.size(), out.size());
        for (int i = 0; i < LINES.size(); i++) {
            assertEquals(LINES.get(i).get("ids"), out.get(i).get("ids"), LINES.get(i).get("id").asText());
        }
    }

    @ParameterizedTest
    @MethodSource("someLines")
    void textWithoutSpecialTokens(JsonNode line) {
        Cli.Result r = Cli.run("tokenize", "--tokenizer", Cli.STORIES.resolve("tokenizer.json").toString(),
                "--text", line.get("text").asText(), "--no-special", "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(line.get("ids_no_special"), r.json().get("ids"));
    }

    @Test
    void plainOutputIsCommaSeparated() {
        JsonNode line = LINES.get(1);
        Cli.Result r = Cli.run("tokenize", "--tokenizer", Cli.STORIES.toString(), "--text", line.get("text").asText());
        assertEquals(Cli.csv(Cli.ints(line.get("ids"))), r.out().strip());
    }

    @ParameterizedTest
    @MethodSource("someLines")
    void detokenize(JsonNode line) {
        String ids = Cli.csv(Cli.ints(line.get("ids")));
        Cli.Result all = Cli.run("detokenize", "--tokenizer", Cli.STORIES.toString(), "--ids", ids, "--json");
        Cli.Result skipped = Cli.run("detokenize", "--tokenizer", Cli.STORIES.toString(), "--ids", ids,
                "--skip-special", "--json");
        assertEquals(0, all.exitCode(), all.err());
        assertEquals(line.get("decoded").asText(), all.json().get("text").asText());
        assertEquals(line.get("decoded_skip_special").asText(), skipped.json().get("text").asText());
    }
}
