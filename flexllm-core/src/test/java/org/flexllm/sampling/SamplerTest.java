package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.TreeSet;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SamplerTest {
    private static final int VOCAB = 1000;

    private final Sampler sampler = new Sampler(VOCAB);
    private final TokenHistory noHistory = new TokenHistory(VOCAB);

    @Test
    void greedyIsArgmax() {
        for (long seed = 0; seed < 20; seed++) {
            float[] row = ReferenceDistribution.gaussianRow(VOCAB, 3, seed);
            int expected = IntStream.range(0, VOCAB).reduce((a, b) -> row[b] > row[a] ? b : a).orElseThrow();
            assertEquals(expected, sampler.choose(row, SamplingParams.greedy(), noHistory, generator(seed)));
        }
    }

    @Test
    void greedyBreaksTiesTowardTheLowestId() {
        float[] row = new float[VOCAB];
        row[700] = 4;
        row[300] = 4;
        assertEquals(300, sampler.choose(row, SamplingParams.greedy(), noHistory, generator(1)));
    }

    @Test
    void greedyDrawsNothingAndSamplingDrawsOnce() {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 1, 3);
        RandomGenerator used = generator(9);
        sampler.choose(row, SamplingParams.greedy(), noHistory, used);
        assertEquals(generator(9).nextLong(), used.nextLong());

        used = generator(9);
        sampler.choose(row, SamplingParams.builder().topK(50).topP(0.8).build(), noHistory, used);
        RandomGenerator fresh = generator(9);
        fresh.nextDouble();
        assertEquals(fresh.nextLong(), used.nextLong());
    }

    @Test
    void seededRequestsRepeatWhateverElseRuns() {
        float[][] rows = IntStream.range(0, 32).mapToObj(t -> ReferenceDistribution.gaussianRow(VOCAB, 2, t))
                .toArray(float[][]::new);
        SamplingParams seeded = SamplingParams.builder().seed(42).topP(0.95).build();

        int[] alone = generate(rows, seeded, new RandomSource(1).forRequest(seeded), null, null);
        RandomSource busyEngine = new RandomSource(2);
        SamplingParams other = SamplingParams.builder().temperature(1.3).topK(20).build();
        int[] amongOthers = generate(rows, seeded, busyEngine.forRequest(seeded), other, busyEngine.forRequest(other));
        int[] otherSeed = generate(rows, seeded.toBuilder().seed(43).build(),
                new RandomSource(1).forRequest(seeded.toBuilder().seed(43).build()), null, null);

        assertArrayEquals(alone, amongOthers);
        assertNotEquals(IntStream.of(alone).boxed().toList(), IntStream.of(otherSeed).boxed().toList());
    }

    /** One token per row for a request, optionally sampling another request's token before each one. */
    private int[] generate(float[][] rows, SamplingParams params, RandomGenerator random,
                           SamplingParams otherParams, RandomGenerator otherRandom) {
        int[] tokens = new int[rows.length];
        for (int t = 0; t < rows.length; t++) {
            if (otherParams != null) {
                sampler.choose(rows[rows.length - 1 - t], otherParams, noHistory, otherRandom);
            }
            tokens[t] = sampler.choose(rows[t], params, noHistory, random);
        }
        return tokens;
    }

    @Test
    void topKNeverLeavesTheKBest() {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 1, 5);
        SamplingParams params = SamplingParams.builder().topK(7).temperature(3).build();
        Set<Integer> best = IntStream.range(0, VOCAB).boxed()
                .sorted((a, b) -> Float.compare(row[b], row[a])).limit(7).collect(TreeSet::new, Set::add, Set::addAll);
        assertEquals(best, drawnIds(row, params, noHistory, 5000));
    }

    @Test
    void topPKeepsTheMinimalNucleus() {
        // 300 equally likely tokens hold about 90% of the mass, so the nucleus needs more ranking than the
        // first guess and ties at its edge must go to the lower ids.
        int vocab = 5000;
        float[] row = new float[vocab];
        for (int i = 0; i < 300; i++) {
            row[i] = 5;
        }
        SamplingParams params = SamplingParams.builder().topP(0.9).build();
        assertEquals(support(ReferenceDistribution.of(row, params)),
                drawnIds(row, params, new TokenHistory(vocab), 40_000));
    }

    @Test
    void minPDropsTokensBelowPTimesTheMostLikely() {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 2, 11);
        SamplingParams params = SamplingParams.builder().minP(0.1).temperature(0.7).build();
        Set<Integer> expected = support(ReferenceDistribution.of(row, params));
        assertTrue(expected.size() > 1 && expected.size() < VOCAB / 10, "the example should filter: " + expected);
        assertEquals(expected, drawnIds(row, params, noHistory, 20_000));
    }

    private Set<Integer> drawnIds(float[] row, SamplingParams params, TokenHistory history, int draws) {
        Sampler wide = new Sampler(row.length);
        RandomGenerator random = generator(77);
        Set<Integer> drawn = new TreeSet<>();
        for (int i = 0; i < draws; i++) {
            drawn.add(wide.choose(row, params, history, random));
        }
        return drawn;
    }

    private static Set<Integer> support(double[] p) {
        return IntStream.range(0, p.length).filter(i -> p[i] > 0).boxed().collect(TreeSet::new, Set::add, Set::addAll);
    }

    static Stream<Arguments> penaltyExamples() {
        return Stream.of(
                Arguments.of("a positive logit is divided", new float[] {3.0f, 2.0f}, new int[] {0}, 2.0, 1),
                Arguments.of("a negative logit is multiplied", new float[] {-1.0f, -1.2f}, new int[] {0}, 1.5, 1),
                Arguments.of("an id is penalized once however often seen", new float[] {3.0f, 1.0f},
                        new int[] {0, 0, 0}, 2.0, 0),
                Arguments.of("unseen ids keep their logit", new float[] {1.0f, 2.0f, 1.9f}, new int[] {0}, 10.0, 1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("penaltyExamples")
    void repetitionPenaltyFollowsHuggingFace(String name, float[] logits, int[] seen, double penalty, int expected) {
        TokenHistory history = new TokenHistory(logits.length);
        history.addPrompt(seen);
        SamplingParams params = SamplingParams.greedy().toBuilder().repetitionPenalty(penalty).build();
        assertEquals(expected, new Sampler(logits.length).choose(logits, params, history, generator(0)));
    }

    @Test
    void logprobsAreTheRawLogSoftmaxWhateverTheSettings() {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 3, 21);
        TokenHistory history = new TokenHistory(VOCAB);
        history.addPrompt(IntStream.range(0, 200).toArray());
        SamplingParams params = SamplingParams.builder().logprobs(5).temperature(0.6).topK(30)
                .repetitionPenalty(1.5).build();
        double[] reference = ReferenceDistribution.logSoftmax(row);
        int[] best = IntStream.range(0, VOCAB).boxed().sorted((a, b) -> Double.compare(reference[b], reference[a]))
                .limit(5).mapToInt(Integer::intValue).toArray();

        SampledToken token = sampler.sample(row, params, history, generator(4));

        assertEquals(reference[token.id()], token.logprob(), 1e-5);
        assertArrayEquals(best, token.topLogprobs().stream().mapToInt(TokenLogprob::id).toArray());
        for (TokenLogprob alternative : token.topLogprobs()) {
            assertEquals(reference[alternative.id()], alternative.logprob(), 1e-5);
        }
    }

    @Test
    void sampleGivesTheChosenLogprobEvenWithoutAlternatives() {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 1, 8);
        SampledToken token = sampler.sample(row, SamplingParams.greedy(), noHistory, generator(0));
        assertEquals(ReferenceDistribution.logSoftmax(row)[token.id()], token.logprob(), 1e-5);
        assertTrue(token.topLogprobs().isEmpty());
    }

    @Test
    void rejectsARowOfTheWrongSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sampler.choose(new float[VOCAB + 1], SamplingParams.greedy(), noHistory, generator(0)));
        assertTrue(e.getMessage().contains(String.valueOf(VOCAB)), e.getMessage());
    }

    private static RandomGenerator generator(long seed) {
        return new RandomSource(seed).forRequest(SamplingParams.builder().seed(seed).build());
    }
}
