package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The empirical distribution of many draws matches the one the reference computes, setting by setting. */
class SamplerDistributionTest {
    private static final float[] LOGITS = {2.0f, 1.5f, 1.2f, 0.9f, 0.5f, 0.3f, 0.0f, -0.4f, -1.0f, -2.0f};
    private static final int[] HISTORY = {1, 3, 3, 8};
    private static final int DRAWS = 200_000;
    /** Five standard deviations per token: a correct sampler with this fixed seed stays well inside. */
    private static final double SIGMAS = 5;

    static Stream<Arguments> settings() {
        return Stream.of(
                Arguments.of("temperature 1", SamplingParams.builder().build()),
                Arguments.of("temperature 0.5", SamplingParams.builder().temperature(0.5).build()),
                Arguments.of("temperature 2", SamplingParams.builder().temperature(2).build()),
                Arguments.of("top-k 3", SamplingParams.builder().topK(3).build()),
                Arguments.of("top-p 0.7", SamplingParams.builder().topP(0.7).build()),
                Arguments.of("min-p 0.2", SamplingParams.builder().minP(0.2).build()),
                Arguments.of("repetition penalty 1.8", SamplingParams.builder().repetitionPenalty(1.8).build()),
                Arguments.of("all together", SamplingParams.builder().temperature(0.8).topK(7).topP(0.9)
                        .minP(0.1).repetitionPenalty(1.3).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("settings")
    void drawsFollowTheReferenceDistribution(String name, SamplingParams settings) {
        SamplingParams params = settings.toBuilder().seed(20240601).build();
        double[] expected = ReferenceDistribution.of(LOGITS, params, HISTORY);
        TokenHistory history = history();
        Sampler sampler = new Sampler(LOGITS.length);
        RandomGenerator random = new RandomSource(0).forRequest(params);

        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.choose(LOGITS, params, history, random)]++;
        }

        for (int id = 0; id < LOGITS.length; id++) {
            double p = expected[id];
            double observed = (double) counts[id] / DRAWS;
            double bound = SIGMAS * Math.sqrt(p * (1 - p) / DRAWS);
            assertTrue(Math.abs(observed - p) <= bound,
                    name + ": token " + id + " drawn with frequency " + observed + ", expected " + p + " ± " + bound);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("settings")
    void distributionIsTheReference(String name, SamplingParams params) {
        double[] expected = ReferenceDistribution.of(LOGITS, params, HISTORY);
        float[] actual = new float[LOGITS.length];
        new Sampler(LOGITS.length).distribution(LOGITS, params, history(), actual);
        for (int id = 0; id < LOGITS.length; id++) {
            assertEquals(expected[id], actual[id], 1e-6, name + ": token " + id);
        }
    }

    @Test
    void greedyDistributionIsOneAtTheChosenToken() {
        SamplingParams greedy = SamplingParams.builder().temperature(0).repetitionPenalty(3).build();
        Sampler sampler = new Sampler(LOGITS.length);
        float[] actual = new float[LOGITS.length];
        sampler.distribution(LOGITS, greedy, history(), actual);
        float[] expected = new float[LOGITS.length];
        expected[sampler.choose(LOGITS, greedy, history(), new RandomSource(0).forRequest(greedy))] = 1;
        assertArrayEquals(expected, actual);
    }

    @Test
    void distributionRejectsAnOutputOfTheWrongSize() {
        Sampler sampler = new Sampler(LOGITS.length);
        assertThrows(IllegalArgumentException.class,
                () -> sampler.distribution(LOGITS, SamplingParams.builder().build(), history(), new float[3]));
    }

    private static TokenHistory history() {
        TokenHistory history = new TokenHistory(LOGITS.length);
        history.addPrompt(HISTORY);
        return history;
    }
}
