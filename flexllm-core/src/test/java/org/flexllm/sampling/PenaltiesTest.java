package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The repetition, frequency and presence penalties against logits adjusted by hand, the way vLLM defines them:
 * repetition over the prompt and the output (divide a positive logit, multiply a negative one, once per id), then
 * {@code - frequency * count - presence} over the output alone. At temperature 1 with no filter the sampler's
 * distribution is the softmax of the adjusted logits, which the test computes itself.
 */
class PenaltiesTest {
    private static final float[] LOGITS = {2.0f, 1.0f, -1.0f, 0.5f, 0.0f, 3.0f};

    static Stream<Arguments> handComputed() {
        SamplingParams plain = SamplingParams.builder().build();
        return Stream.of(
                Arguments.of("all three: id 0 and 2 in the prompt, 3 twice and 1 once in the output",
                        plain.toBuilder().repetitionPenalty(2).presencePenalty(0.5).frequencyPenalty(0.25).build(),
                        new int[] {0, 2, 0}, new int[] {3, 1, 3},
                        // 2/2, 1/2 - 0.25 - 0.5, -1*2, 0.5/2 - 2*0.25 - 0.5, unseen, unseen
                        new double[] {1.0, -0.25, -2.0, -0.75, 0.0, 3.0}),
                Arguments.of("presence and frequency ignore the prompt",
                        plain.toBuilder().presencePenalty(1).frequencyPenalty(1).build(),
                        new int[] {5, 0}, new int[] {4},
                        new double[] {2.0, 1.0, -1.0, 0.5, -2.0, 3.0}),
                Arguments.of("frequency counts every occurrence in the output",
                        plain.toBuilder().frequencyPenalty(0.5).build(),
                        new int[] {3}, new int[] {3, 3, 3, 5},
                        // 0.5 - 3*0.5, 3 - 1*0.5
                        new double[] {2.0, 1.0, -1.0, -1.0, 0.0, 2.5}),
                Arguments.of("negative penalties reward repeats",
                        plain.toBuilder().presencePenalty(-1).frequencyPenalty(-0.5).build(),
                        new int[] {}, new int[] {4, 4, 2},
                        // 0 + 2*0.5 + 1, -1 + 0.5 + 1
                        new double[] {2.0, 1.0, 0.5, 0.5, 2.0, 3.0}),
                Arguments.of("repetition once per id seen in both the prompt and the output",
                        plain.toBuilder().repetitionPenalty(4).build(),
                        new int[] {1, 2}, new int[] {1, 1, 2},
                        new double[] {2.0, 0.25, -4.0, 0.5, 0.0, 3.0}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handComputed")
    void theDistributionIsTheSoftmaxOfTheHandAdjustedLogits(String name, SamplingParams params, int[] prompt,
                                                           int[] output, double[] adjusted) {
        float[] distribution = new float[LOGITS.length];
        new Sampler(LOGITS.length).distribution(LOGITS.clone(), params, history(prompt, output), distribution);
        double[] expected = softmax(adjusted);
        for (int id = 0; id < LOGITS.length; id++) {
            assertEquals(expected[id], distribution[id], 1e-6, name + ": id " + id);
        }
    }

    @Test
    void greedyFollowsThePenalisedArgmax() {
        // In the prompt only, id 5 keeps its 3; twice in the output, 3 - 2*1.5 = 0 < 2 and id 0 wins.
        SamplingParams params = SamplingParams.greedy().toBuilder().frequencyPenalty(1.5).build();
        Sampler sampler = new Sampler(LOGITS.length);
        assertEquals(5, sampler.choose(LOGITS, params, history(new int[] {5, 5, 5}, new int[] {}), null));
        assertEquals(0, sampler.choose(LOGITS, params, history(new int[] {}, new int[] {5, 5}), null));
    }

    @Test
    void theLogitsRowAndTheSamplersScratchAreLeftClean() {
        float[] row = LOGITS.clone();
        Sampler sampler = new Sampler(LOGITS.length);
        SamplingParams params = SamplingParams.builder().frequencyPenalty(2).build();
        float[] first = new float[row.length];
        sampler.distribution(row, params, history(new int[] {}, new int[] {5, 5, 5}), first);
        float[] unpenalised = new float[row.length];
        sampler.distribution(row, params, history(new int[] {}, new int[] {}), unpenalised);
        assertArrayEquals(LOGITS, row);
        float[] plain = new float[row.length];
        sampler.distribution(row, SamplingParams.builder().build(), new TokenHistory(row.length), plain);
        assertArrayEquals(plain, unpenalised, "counts of an earlier row must not leak into the next");
    }

    private static TokenHistory history(int[] prompt, int[] output) {
        TokenHistory history = new TokenHistory(LOGITS.length);
        history.addPrompt(prompt);
        for (int id : output) {
            history.add(id);
        }
        return history;
    }

    private static double[] softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            p[i] = Math.exp(x[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < x.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
