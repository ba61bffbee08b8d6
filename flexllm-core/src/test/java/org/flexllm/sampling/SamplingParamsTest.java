package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SamplingParamsTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        SamplingParams p = SamplingParams.builder().build();
        assertAll(
                () -> assertEquals(256, p.maxTokens()),
                () -> assertEquals(1.0, p.temperature()),
                () -> assertEquals(0, p.topK()),
                () -> assertEquals(1.0, p.topP()),
                () -> assertEquals(0.0, p.minP()),
                () -> assertEquals(OptionalLong.empty(), p.seed()),
                () -> assertEquals(1.0, p.repetitionPenalty()),
                () -> assertEquals(0.0, p.presencePenalty()),
                () -> assertEquals(0.0, p.frequencyPenalty()),
                () -> assertFalse(p.penalizes()),
                () -> assertEquals(List.of(), p.stopStrings()),
                () -> assertEquals(List.of(), p.stopTokenIds()),
                () -> assertFalse(p.ignoreEos()),
                () -> assertEquals(OptionalInt.empty(), p.logprobs()),
                () -> assertEquals(OptionalInt.empty(), p.promptLogprobs()),
                () -> assertTrue(p.skipSpecialTokens()),
                () -> assertFalse(p.isGreedy()));
    }

    @Test
    void greedyIsTheDefaultsAtTemperatureZero() {
        SamplingParams greedy = SamplingParams.greedy();
        assertTrue(greedy.isGreedy());
        assertEquals(SamplingParams.builder().build(), greedy.toBuilder().temperature(1).build());
    }

    @Test
    void temperaturesBelowTheEpsilonCountAsGreedy() {
        assertTrue(SamplingParams.builder().temperature(1e-7).build().isGreedy());
        assertFalse(SamplingParams.builder().temperature(1e-3).build().isGreedy());
    }

    @Test
    void toBuilderKeepsEveryFieldAndLeavesTheOriginalAlone() {
        SamplingParams original = SamplingParams.builder().maxTokens(64).temperature(0.7).topK(40).topP(0.9)
                .minP(0.05).seed(7).repetitionPenalty(1.1).presencePenalty(0.5)
                .frequencyPenalty(-0.25).stopStrings(List.of("\n\n")).stopTokenIds(List.of(2))
                .ignoreEos(true).logprobs(3).promptLogprobs(1).skipSpecialTokens(false).build();
        assertEquals(original, original.toBuilder().build());
        SamplingParams changed = original.toBuilder().topK(5).build();
        assertEquals(5, changed.topK());
        assertEquals(40, original.topK());
        assertNotEquals(original, changed);
    }

    @Test
    void listsAreCopiedAndUnmodifiable() {
        List<String> stops = new ArrayList<>(List.of("###"));
        SamplingParams p = SamplingParams.builder().stopStrings(stops).build();
        stops.add("END");
        assertEquals(List.of("###"), p.stopStrings());
        assertThrows(UnsupportedOperationException.class, () -> p.stopStrings().add("x"));
    }

    @Test
    void acceptsTheEdgesOfEveryRange() {
        assertDoesNotThrow(() -> SamplingParams.builder().maxTokens(1).temperature(0).topK(-1).topP(1).minP(1)
                .logprobs(0).promptLogprobs(0).presencePenalty(-2).frequencyPenalty(2).build());
        assertDoesNotThrow(() -> SamplingParams.builder().presencePenalty(2).frequencyPenalty(-2).build());
        assertDoesNotThrow(() -> SamplingParams.builder().topK(0).minP(0).topP(1e-9).build());
    }

    static Stream<Arguments> invalidSettings() {
        return Stream.of(
                invalid("maxTokens", b -> b.maxTokens(0)),
                invalid("temperature", b -> b.temperature(-0.1)),
                invalid("temperature", b -> b.temperature(Double.NaN)),
                invalid("temperature", b -> b.temperature(Double.POSITIVE_INFINITY)),
                invalid("topK", b -> b.topK(-2)),
                invalid("topP", b -> b.topP(0)),
                invalid("topP", b -> b.topP(1.01)),
                invalid("minP", b -> b.minP(-0.01)),
                invalid("minP", b -> b.minP(1.5)),
                invalid("repetitionPenalty", b -> b.repetitionPenalty(0)),
                invalid("repetitionPenalty", b -> b.repetitionPenalty(-1)),
                invalid("presencePenalty", b -> b.presencePenalty(2.01)),
                invalid("presencePenalty", b -> b.presencePenalty(-2.5)),
                invalid("presencePenalty", b -> b.presencePenalty(Double.NaN)),
                invalid("frequencyPenalty", b -> b.frequencyPenalty(-2.01)),
                invalid("frequencyPenalty", b -> b.frequencyPenalty(Double.POSITIVE_INFINITY)),
                invalid("stopStrings", b -> b.stopStrings(List.of(""))),
                invalid("stopStrings", b -> b.stopStrings(Arrays.asList("a", null))),
                invalid("stopTokenIds", b -> b.stopTokenIds(List.of(-1))),
                invalid("logprobs", b -> b.logprobs(-1)),
                invalid("promptLogprobs", b -> b.promptLogprobs(-3)));
    }

    private static Arguments invalid(String field, UnaryOperator<SamplingParams.Builder> setting) {
        return Arguments.of(field, setting);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSettings")
    void validationErrorsNameTheField(String field, UnaryOperator<SamplingParams.Builder> setting) {
        InvalidSamplingParamsException e = assertThrows(InvalidSamplingParamsException.class,
                () -> setting.apply(SamplingParams.builder()).build());
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith("SamplingParams." + field + " "), e.getMessage());
    }

    @Test
    void aPenaltyOutOfRangeSaysTheRange() {
        InvalidSamplingParamsException e = assertThrows(InvalidSamplingParamsException.class,
                () -> SamplingParams.builder().frequencyPenalty(3).build());
        assertEquals("SamplingParams.frequencyPenalty must be in [-2, 2] (0 turns it off), got 3.0", e.getMessage());
    }

    @Test
    void anyPenaltyTurnsTheHistoryOn() {
        assertTrue(SamplingParams.builder().repetitionPenalty(1.1).build().penalizes());
        assertTrue(SamplingParams.builder().presencePenalty(-0.1).build().penalizes());
        assertTrue(SamplingParams.builder().frequencyPenalty(0.1).build().penalizes());
    }
}
