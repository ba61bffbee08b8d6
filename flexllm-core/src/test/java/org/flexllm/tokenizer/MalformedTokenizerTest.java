package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Broken files fail with a {@link TokenizerFormatException} that names the file and the field. */
class MalformedTokenizerTest {
    private static final String MODEL = """
            "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}""";

    @TempDir
    Path folder;

    static Stream<Arguments> brokenFiles() {
        return Stream.of(
                Arguments.of("{ \"model\": ", "not valid JSON"),
                Arguments.of("[1, 2]", "JSON object"),
                Arguments.of("{\"added_tokens\": []}", "'model' is missing"),
                Arguments.of("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "'model.type'"),
                Arguments.of("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a c\"]}}",
                        "'model.merges[0]' names token 'c'"),
                Arguments.of("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
                        "'model.merges[0]' names token 'ab'"),
                Arguments.of("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}",
                        "'model.merges[0]' must be two tokens"),
                Arguments.of("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"zero\"}, \"merges\": []}}",
                        "'model.vocab.a' must be an integer"),
                Arguments.of("{" + MODEL + ", \"normalizer\": {\"type\": \"Lowercase\"}}", "'normalizer.type'"),
                Arguments.of("{" + MODEL + ", \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Isolated\","
                        + " \"pattern\": {\"Regex\": \"(\"}}}", "'pre_tokenizer.pattern.Regex'"),
                Arguments.of("{" + MODEL + ", \"decoder\": {\"type\": \"Strip\", \"content\": \"ab\"}}",
                        "'decoder.content'"),
                Arguments.of("{" + MODEL + ", \"post_processor\": {\"type\": \"TemplateProcessing\","
                        + " \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}], \"special_tokens\": {}}}",
                        "'post_processor.single[0].SpecialToken.id'"),
                Arguments.of("{" + MODEL + ", \"added_tokens\": [{\"content\": \"<s>\"}]}", "'added_tokens[0].id'"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("brokenFiles")
    void namesFileAndField(String content, String expected) throws IOException {
        Path file = Files.writeString(folder.resolve("tokenizer.json"), content);
        assertMessage(file, expected, assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(folder)));
    }

    @Test
    void missingFile() {
        Path file = folder.resolve("tokenizer.json");
        assertMessage(file, "cannot read", assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(file)));
    }

    @Test
    void bosTokenThatIsNotAToken() throws IOException {
        Files.writeString(folder.resolve("tokenizer.json"), "{" + MODEL + "}");
        Path config = Files.writeString(folder.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        assertMessage(config, "'bos_token' names '<s>'",
                assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(folder)));
    }

    private static void assertMessage(Path file, String expected, TokenizerFormatException e) {
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
