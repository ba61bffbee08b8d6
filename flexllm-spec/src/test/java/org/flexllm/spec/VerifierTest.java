package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.flexllm.sampling.Sampler;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class VerifierTest {
    private static final int VOCAB = 40;
    private static final int[] PROMPT = {5, 17, 5, 17, 5, 3};
    private static final int TOKENS = 60;
    private final ToyModel target = new ToyModel(VOCAB, 1, 2);

    static Stream<Arguments> shapes() {
        return Stream.of(Arguments.of("chain", TreeShape.chain(4)), Arguments.of("wide tree", TreeShape.tree(6, 2)),
                Arguments.of("deep tree", new TreeShape(2, 6, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void greedySpeculationIsPlainArgmaxDecoding(String name, TreeShape shape) {
        int[] expected = argmaxDecoding();
        for (Drafter drafter : drafters(expected)) {
            SpecDecoding spec = new SpecDecoding(target, drafter, shape, SpecDecoding.lossless(VOCAB));
            assertArrayEquals(expected, spec.generate(PROMPT, TOKENS, SamplingParams.greedy(), new SplittableRandom(0)),
                    name + " with " + drafter);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void sampledSpeculationRepeatsPlainDecodingWithTheSameSeed(String name, TreeShape shape) {
        SamplingParams params = SamplingParams.builder().temperature(0.9).topK(20).topP(0.95).minP(0.02)
                .repetitionPenalty(1.2).frequencyPenalty(0.3).presencePenalty(0.2).build();
        int[] expected = plainDecoding(params, new SplittableRandom(77));
        for (Drafter drafter : drafters(expected)) {
            SpecDecoding spec = new SpecDecoding(target, drafter, shape, SpecDecoding.lossless(VOCAB));
            assertArrayEquals(expected, spec.generate(PROMPT, TOKENS, params, new SplittableRandom(77)),
                    name + " with " + drafter);
        }
    }

    @Test
    void anAgreeingDraftSavesIterations() {
        SpecDecoding spec = new SpecDecoding(target, new ToyModel(VOCAB, 1, 1).drafter(), TreeShape.chain(4),
                SpecDecoding.lossless(VOCAB));
        assertArrayEquals(argmaxDecoding(), spec.generate(PROMPT, TOKENS, SamplingParams.greedy(), null));
        assertEquals(TOKENS / 5, spec.iterations(), "the same ranking as the target: every chain is accepted");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("greedyPenalties")
    void greedyWithPenaltiesMatchesTheSampler(String name, SamplingParams params) {
        int[] expected = plainDecoding(params, new SplittableRandom(0));
        SpecDecoding spec = new SpecDecoding(target, target.drafter(), TreeShape.tree(3, 3),
                SpecDecoding.lossless(VOCAB));
        assertArrayEquals(expected, spec.generate(PROMPT, TOKENS, params, new SplittableRandom(0)));
    }

    @Test
    void anOracleAtAlphaOneIsAcceptedWhole() {
        int[] continuation = argmaxDecoding();
        TokenTree chain = new TreeConstruction(TreeShape.chain(5))
                .build(new OracleDrafter(1, VOCAB, PROMPT, continuation, 3), PROMPT, PROMPT.length);
        float[][] rows = target.treeLogits(chain, PROMPT);
        Verification v = new Verifier(VOCAB).verify(chain, i -> rows[i], SamplingParams.greedy(),
                new TokenHistory(VOCAB), new SplittableRandom(0));
        assertEquals(5, v.acceptedLength());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5}, v.path());
        assertArrayEquals(Arrays.copyOf(continuation, 6), v.tokens());
        assertEquals(continuation[5], v.bonus());
        assertEquals(5, v.lastNode());
    }

    @Test
    void aRejectedRootChildLeavesTheBonusAlone() {
        TokenTree.Builder b = TokenTree.builder(3);
        float[] row = new float[VOCAB];
        row[9] = 5;
        b.add(0, 8, -0.1);
        TokenTree tree = b.build();
        TokenHistory history = new TokenHistory(VOCAB);
        Verification v = new Verifier(VOCAB).verify(tree, i -> row, SamplingParams.greedy(), history,
                new SplittableRandom(0));
        assertEquals(0, v.acceptedLength());
        assertEquals(9, v.bonus());
        assertEquals(0, v.lastNode());
        assertEquals(0, history.generated(), "nothing accepted, nothing added");
    }

    @Test
    void acceptedTokensArePenalisedDuringTheWalkAndLeftForTheEngineToCommit() {
        TokenTree.Builder b = TokenTree.builder(3);
        b.add(0, 9, -0.1);
        float[] row = new float[VOCAB];
        row[9] = 5;
        row[4] = 4;
        TokenHistory history = new TokenHistory(VOCAB);
        history.add(7);
        // Accepting 9 lowers its logit to 5 - 2 = 3 below 4's, so the bonus token is 4.
        SamplingParams params = SamplingParams.greedy().toBuilder().presencePenalty(2).build();
        Verification v = new Verifier(VOCAB).verify(b.build(), i -> row, params, history, new SplittableRandom(0));
        assertArrayEquals(new int[] {9, 4}, v.tokens());
        assertEquals(1, history.generated(), "the verifier's own additions are taken back");
        assertEquals(7, history.generatedId(0));
    }

    @Test
    void verificationsCheckTheirShape() {
        assertThrows(IllegalArgumentException.class, () -> new Verification(new int[] {1}, new int[] {4}));
        Verification v = new Verification(new int[] {1}, new int[] {4, 5});
        assertEquals(new Verification(new int[] {1}, new int[] {4, 5}), v);
        assertTrue(v.toString().contains("[4, 5]"));
    }

    static Stream<Arguments> greedyPenalties() {
        SamplingParams greedy = SamplingParams.greedy();
        return Stream.of(Arguments.of("repetition", greedy.toBuilder().repetitionPenalty(1.5).build()),
                Arguments.of("frequency", greedy.toBuilder().frequencyPenalty(0.7).build()),
                Arguments.of("presence", greedy.toBuilder().presencePenalty(1.1).build()));
    }

    /** Greedy decoding of the target, with an argmax written here rather than the sampler's. */
    private int[] argmaxDecoding() {
        int[] sequence = Arrays.copyOf(PROMPT, PROMPT.length + TOKENS);
        for (int i = PROMPT.length; i < sequence.length; i++) {
            float[] row = target.logits(sequence, i);
            int best = 0;
            for (int id = 1; id < VOCAB; id++) {
                best = row[id] > row[best] ? id : best;
            }
            sequence[i] = best;
        }
        return Arrays.copyOfRange(sequence, PROMPT.length, sequence.length);
    }

    /** Non-speculative decoding: one {@link Sampler#choose} per token. */
    private int[] plainDecoding(SamplingParams params, SplittableRandom random) {
        Sampler sampler = new Sampler(VOCAB);
        TokenHistory history = new TokenHistory(VOCAB);
        history.addPrompt(PROMPT);
        int[] sequence = Arrays.copyOf(PROMPT, PROMPT.length + TOKENS);
        for (int i = PROMPT.length; i < sequence.length; i++) {
            sequence[i] = sampler.choose(target.logits(sequence, i), params, history, random);
            history.add(sequence[i]);
        }
        return Arrays.copyOfRange(sequence, PROMPT.length, sequence.length);
    }

    /** A draft that mostly agrees with the target, one that does not, n-gram lookup and the oracle. */
    private Drafter[] drafters(int[] continuation) {
        return new Drafter[] {new ToyModel(VOCAB, 1, 1).drafter(), new ToyModel(VOCAB, 2, 1).drafter(),
            new NgramDrafter(), new OracleDrafter(0.7, VOCAB, PROMPT, continuation, 11)};
    }
}
