package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every line of the golden files, produced by the Rust {@code tokenizers} library, reproduced exactly. */
class GoldenTokenizerTest {
    private static final String LINES = "org.flexllm.tokenizer.Golden#lines";

    @ParameterizedTest(name = "{0}")
    @MethodSource(LINES)
    void encodesWithSpecialTokens(Golden.Line line) {
        assertArrayEquals(line.ids("ids"), tokenizer(line).encode(line.text(), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(LINES)
    void encodesWithoutSpecialTokens(Golden.Line line) {
        assertArrayEquals(line.ids("ids_no_special"), tokenizer(line).encode(line.text(), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(LINES)
    void decodes(Golden.Line line) {
        assertEquals(line.string("decoded"), tokenizer(line).decode(line.ids("ids"), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(LINES)
    void decodesSkippingSpecialTokens(Golden.Line line) {
        assertEquals(line.string("decoded_skip_special"), tokenizer(line).decode(line.ids("ids"), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(LINES)
    void streamsWhatDecodeReturns(Golden.Line line) {
        for (boolean skipSpecialTokens : new boolean[] {false, true}) {
            StreamDecoder stream = tokenizer(line).streamDecoder(skipSpecialTokens);
            StringBuilder text = new StringBuilder();
            for (int id : line.ids("ids")) {
                text.append(stream.next(id));
            }
            text.append(stream.flush());
            String expected = line.string(skipSpecialTokens ? "decoded_skip_special" : "decoded");
            assertEquals(expected, text.toString(), "skipSpecialTokens=" + skipSpecialTokens);
        }
    }

    private static Tokenizer tokenizer(Golden.Line line) {
        return Golden.tokenizer(line.tokenizer());
    }
}
