package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ByteTokenizerTest {
    private static final Tokenizer BYTES = Tokenizer.bytes(300);

    /** Random strings over all of Unicode (surrogates excluded), ASCII and the BMP. */
    static Stream<String> texts() {
        Random random = new Random(42);
        return IntStream.range(0, 60).mapToObj(i -> {
            int limit = switch (i % 3) {
                case 0 -> 0x80;
                case 1 -> 0x10000;
                default -> Character.MAX_CODE_POINT + 1;
            };
            return random.ints(random.nextInt(40), 0, limit)
                    .filter(cp -> Character.getType(cp) != Character.SURROGATE)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
                    .toString();
        });
    }

    @ParameterizedTest
    @MethodSource("texts")
    void idsAreTheUtf8Bytes(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] expected = IntStream.range(0, bytes.length).map(i -> bytes[i] & 0xFF).toArray();
        assertArrayEquals(expected, BYTES.encode(text, false));
    }

    @ParameterizedTest
    @MethodSource("texts")
    void roundTrips(String text) {
        assertEquals(text, BYTES.decode(BYTES.encode(text, true), true));
    }

    @ParameterizedTest
    @MethodSource("texts")
    void streamsOnlyCompleteCharacters(String text) {
        StreamDecoder stream = BYTES.streamDecoder(true);
        StringBuilder streamed = new StringBuilder();
        for (int id : BYTES.encode(text, true)) {
            String piece = stream.next(id);
            assertFalse(piece.contains("\uFFFD"), piece);
            streamed.append(piece);
        }
        assertEquals("", stream.flush());
        assertEquals(text, streamed.toString());
    }

    @Test
    void flushReleasesAnUnfinishedCharacter() {
        StreamDecoder stream = BYTES.streamDecoder(false);
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        assertEquals("", stream.next(euro[0] & 0xFF));
        assertEquals("", stream.next(euro[1] & 0xFF));
        // ByteFallback writes one U+FFFD per byte of an invalid run.
        assertEquals("\uFFFD\uFFFD", stream.flush());
    }

    @Test
    void bosAndEosAreSpecial() {
        assertEquals(256, BYTES.bosId().orElseThrow());
        assertEquals(257, BYTES.eosId().orElseThrow());
        assertEquals(256, BYTES.encode("a", true)[0]);
        assertTrue(BYTES.isSpecial(256));
        assertTrue(BYTES.isSpecial(257));
        assertFalse(BYTES.isSpecial('a'));
        assertEquals("a", BYTES.decode(new int[] {256, 'a', 257}, true));
    }

    @Test
    void extraIdsDecodeToPlaceholders() {
        assertEquals(300, BYTES.vocabSize());
        assertEquals(BYTES.token(299), BYTES.decode(new int[] {299}, false));
        assertTrue(BYTES.token(299).startsWith("<extra_"));
        assertThrows(IllegalArgumentException.class, () -> BYTES.token(300));
    }

    @Test
    void needsRoomForTheBytes() {
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.bytes(255));
    }

    @Test
    void aVocabularyOfOnlyBytesHasNoSpecialTokens() {
        Tokenizer bytesOnly = Tokenizer.bytes(256);
        assertArrayEquals(new int[] {104, 105}, bytesOnly.encode("hi", true));
        assertTrue(bytesOnly.bosId().isEmpty());
        assertEquals("hi", bytesOnly.decode(new int[] {104, 105}, true));
    }
}
