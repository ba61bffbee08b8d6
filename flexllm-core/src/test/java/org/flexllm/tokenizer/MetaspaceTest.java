package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Llama 2 written the way newer conversions write SentencePiece tokenizers: no normalizer, a Metaspace
 * pre-tokenizer that prepends "▁" to the start of the input only, and a Metaspace decoder. Where the
 * input has no added-token text and does not start with a space or "▁" (which Metaspace takes as
 * already prefixed), that is the same tokenizer as the golden file's, so it must give the golden ids
 * and texts.
 */
class MetaspaceTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String METASPACE = "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\"";

    @TempDir
    static Path folder;
    static Tokenizer metaspace;

    @BeforeAll
    static void writeVariant() throws IOException {
        ObjectNode json = (ObjectNode) MAPPER.readTree(Golden.SHARED.resolve("tokenizers/llama2/tokenizer.json").toFile());
        json.putNull("normalizer");
        json.set("pre_tokenizer", MAPPER.readTree(METASPACE + ", \"split\": false}"));
        json.set("decoder", MAPPER.readTree("{\"type\": \"Sequence\", \"decoders\": [" + METASPACE + "},"
                + " {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]}"));
        MAPPER.writeValue(folder.resolve("tokenizer.json").toFile(), json);
        metaspace = Tokenizer.load(folder);
    }

    static Stream<Golden.Line> comparableLines() {
        return Golden.lines("llama2").filter(line -> !line.text().isEmpty()
                && !line.text().startsWith(" ")
                && !line.text().startsWith("▁")
                && Stream.of("<s>", "</s>", "<unk>").noneMatch(line.text()::contains));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("comparableLines")
    void encodesLikeTheLegacyNormalizers(Golden.Line line) {
        assertArrayEquals(line.ids("ids"), metaspace.encode(line.text(), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("comparableLines")
    void decodesLikeTheLegacyDecoders(Golden.Line line) {
        assertEquals(line.string("decoded"), metaspace.decode(line.ids("ids"), false));
        assertEquals(line.string("decoded_skip_special"), metaspace.decode(line.ids("ids"), true));
    }

    @Test
    void prependsOnlyAtTheStartOfTheInput() {
        assertTrue(metaspace.token(metaspace.encode("Hello", false)[0]).startsWith("▁"));
        int[] afterBos = metaspace.encode("<s>Hello", false);
        assertEquals(metaspace.bosId().orElseThrow(), afterBos[0]);
        assertFalse(metaspace.token(afterBos[1]).startsWith("▁"));
    }

    @Test
    void bosComesFromThePostProcessorWithoutConfig() {
        assertEquals(1, metaspace.bosId().orElseThrow());
    }
}
