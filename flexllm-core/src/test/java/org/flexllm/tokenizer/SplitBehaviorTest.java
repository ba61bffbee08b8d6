package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The example the Rust library documents for {@code SplitDelimiterBehavior}: "the-final--countdown" on '-'. */
class SplitBehaviorTest {
    private static final Pattern DASH = Pattern.compile("-");

    static Stream<Arguments> documentedSplits() {
        return Stream.of(
                Arguments.of(SplitBehavior.REMOVED, List.of("the", "final", "countdown")),
                Arguments.of(SplitBehavior.ISOLATED, List.of("the", "-", "final", "-", "-", "countdown")),
                Arguments.of(SplitBehavior.MERGED_WITH_PREVIOUS, List.of("the-", "final-", "-", "countdown")),
                Arguments.of(SplitBehavior.MERGED_WITH_NEXT, List.of("the", "-final", "-", "-countdown")),
                Arguments.of(SplitBehavior.CONTIGUOUS, List.of("the", "-", "final", "--", "countdown")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("documentedSplits")
    void splitsAsDocumented(SplitBehavior behavior, List<String> expected) {
        assertEquals(expected, behavior.split("the-final--countdown", DASH, false));
    }

    @Test
    void invertedPatternMatchesThePiecesInstead() {
        Pattern words = Pattern.compile("[^-]+");
        assertEquals(List.of("the", "final", "countdown"),
                SplitBehavior.REMOVED.split("the-final--countdown", words, true));
        assertEquals(List.of("the", "-", "final", "--", "countdown"),
                SplitBehavior.ISOLATED.split("the-final--countdown", words, true));
    }
}
