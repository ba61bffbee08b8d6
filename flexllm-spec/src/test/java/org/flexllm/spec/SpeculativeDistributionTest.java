package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.flexllm.sampling.Sampler;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Speculative sampling is lossless: 20,000 samples of the first three generated tokens, for every tree shape,
 * against the target's exact marginal distribution at each position, computed here in double with the logit
 * processing written out independently. A chi-square test per position must pass at p > 0.001 (fixed seed);
 * a deliberately wrong acceptance rule must fail it.
 */
class SpeculativeDistributionTest {
    private static final int VOCAB = 8;
    private static final int[] PROMPT = {2, 5, 1};
    private static final int POSITIONS = 3;
    private static final int SAMPLES = 20_000;
    /** The standard normal quantile at 1 − 0.001. */
    private static final double Z_999 = 3.090232306167813;
    private static final SamplingParams PARAMS = SamplingParams.builder().temperature(0.8).topK(7).topP(0.95)
            .minP(0.03).repetitionPenalty(1.3).build();

    private final ToyModel target = new ToyModel(VOCAB, 7, 1.2);

    static Stream<Arguments> shapes() {
        ToyModel agreeing = new ToyModel(VOCAB, 7, 0.8);
        ToyModel unrelated = new ToyModel(VOCAB, 8, 1);
        return Stream.of(Arguments.of("chain", TreeShape.chain(3), agreeing.drafter()),
                Arguments.of("wide tree", TreeShape.tree(5, 2), agreeing.drafter()),
                Arguments.of("deep tree", new TreeShape(2, 5, 2), agreeing.drafter()),
                Arguments.of("wide tree, unrelated draft", TreeShape.tree(4, 2), unrelated.drafter()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void speculativeSamplesFollowTheTargetAtEveryPosition(String name, TreeShape shape, Drafter drafter) {
        int[][] counts = sample(new SpecDecoding(target, drafter, shape, SpecDecoding.lossless(VOCAB)));
        double[][] expected = exactMarginals();
        for (int position = 0; position < POSITIONS; position++) {
            double statistic = chiSquare(counts[position], expected[position]);
            double critical = criticalValue(degreesOfFreedom(expected[position]));
            assertTrue(statistic <= critical, name + ", token " + (position + 1) + ": chi-square " + statistic
                    + " above the p = 0.001 critical value " + critical + "; counts "
                    + Arrays.toString(counts[position]) + ", expected probabilities "
                    + Arrays.toString(expected[position]));
        }
    }

    @Test
    void acceptingEveryPossibleDraftTokenFailsTheTest() {
        SpecDecoding wrong = new SpecDecoding(target, new ToyModel(VOCAB, 8, 1).drafter(), TreeShape.tree(4, 2),
                acceptAnyPossible());
        int[][] counts = sample(wrong);
        double[][] expected = exactMarginals();
        boolean rejected = IntStream.range(0, POSITIONS).anyMatch(position -> chiSquare(counts[position],
                expected[position]) > criticalValue(degreesOfFreedom(expected[position])));
        assertTrue(rejected, "the chi-square test must catch a rule that ignores the acceptance ratio");
    }

    @Test
    void theCriticalValueMatchesTheTables() {
        // Wilson-Hilferty errs slightly high for few degrees of freedom: a little more lenient, never stricter.
        assertEquals(10.828, criticalValue(1), 0.04 * 10.828);
        assertEquals(24.322, criticalValue(7), 0.01 * 24.322);
        assertEquals(29.588, criticalValue(10), 0.01 * 29.588);
    }

    /** Counts, per position, how often each token came out in {@link #SAMPLES} generations. */
    private static int[][] sample(SpecDecoding decoding) {
        RandomGenerator random = new SplittableRandom(20250601);
        int[][] counts = new int[POSITIONS][VOCAB];
        for (int s = 0; s < SAMPLES; s++) {
            int[] tokens = decoding.generate(PROMPT, POSITIONS, PARAMS, random);
            for (int position = 0; position < POSITIONS; position++) {
                counts[position][tokens[position]]++;
            }
        }
        return counts;
    }

    /** The wrong rule: descend into the first child the target could produce at all, ignoring how likely. */
    private static SpecDecoding.Rule acceptAnyPossible() {
        Sampler sampler = new Sampler(VOCAB);
        float[] p = new float[VOCAB];
        return (tree, rows, params, history, random) -> {
            int[] emitted = new int[tree.size()];
            int count = 0;
            int node = 0;
            while (true) {
                sampler.distribution(rows[node], params, history, p);
                int accepted = -1;
                for (int c = tree.firstChild(node); c >= 0 && accepted < 0; c = tree.nextSibling(c)) {
                    accepted = p[tree.token(c)] > 0 ? c : -1;
                }
                if (accepted < 0) {
                    emitted[count++] = sampler.choose(rows[node], params, history, random);
                    return Arrays.copyOf(emitted, count);
                }
                emitted[count++] = tree.token(accepted);
                history.add(tree.token(accepted));
                node = accepted;
            }
        };
    }

    /** P(token at position i = t) for i < 3, summing over every earlier outcome, in double. */
    private double[][] exactMarginals() {
        double[][] marginals = new double[POSITIONS][VOCAB];
        addMarginals(Arrays.copyOf(PROMPT, PROMPT.length + POSITIONS), PROMPT.length, 1, marginals);
        return marginals;
    }

    private void addMarginals(int[] sequence, int length, double weight, double[][] marginals) {
        int position = length - PROMPT.length;
        if (position == POSITIONS) {
            return;
        }
        double[] p = targetProbabilities(target.logits(sequence, length), Arrays.copyOf(sequence, length));
        for (int t = 0; t < VOCAB; t++) {
            if (p[t] > 0) {
                marginals[position][t] += weight * p[t];
                sequence[length] = t;
                addMarginals(sequence, length + 1, weight * p[t], marginals);
            }
        }
    }

    /**
     * The target's next-token distribution under {@link #PARAMS}, as HF's logits processors define it: repetition
     * penalty once per seen id, temperature, keep the top-k, keep the smallest most-likely set reaching top-p,
     * drop what is below min-p times the most likely, renormalise.
     */
    static double[] targetProbabilities(float[] logits, int[] seen) {
        double[] x = new double[logits.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = logits[i];
        }
        IntStream.of(seen).distinct().forEach(id -> x[id] = x[id] > 0 ? x[id] / PARAMS.repetitionPenalty()
                : x[id] * PARAMS.repetitionPenalty());
        Integer[] order = IntStream.range(0, x.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -x[i]).thenComparingInt(i -> i));
        double[] w = new double[x.length];
        for (int r = 0; r < PARAMS.topK(); r++) {
            w[order[r]] = Math.exp((x[order[r]] - x[order[0]]) / PARAMS.temperature());
        }
        double total = Arrays.stream(w).sum();
        double cumulative = 0;
        for (int id : order) {
            boolean inNucleus = cumulative < PARAMS.topP() * total;
            cumulative += w[id];
            w[id] = inNucleus && w[id] >= PARAMS.minP() ? w[id] : 0;
        }
        double kept = Arrays.stream(w).sum();
        return Arrays.stream(w).map(v -> v / kept).toArray();
    }

    /** Pearson's statistic; a sample in a cell of probability 0 makes it infinite. */
    private static double chiSquare(int[] counts, double[] p) {
        double statistic = 0;
        for (int t = 0; t < counts.length; t++) {
            if (p[t] == 0) {
                statistic += counts[t] > 0 ? Double.POSITIVE_INFINITY : 0;
            } else {
                double e = p[t] * SAMPLES;
                statistic += (counts[t] - e) * (counts[t] - e) / e;
            }
        }
        return statistic;
    }

    private static int degreesOfFreedom(double[] p) {
        return (int) Arrays.stream(p).filter(v -> v > 0).count() - 1;
    }

    /** The chi-square quantile at 1 − 0.001 by Wilson–Hilferty's cube-root normal approximation. */
    static double criticalValue(int df) {
        double a = 2.0 / (9 * df);
        double root = 1 - a + Z_999 * Math.sqrt(a);
        return df * root * root * root;
    }
}
