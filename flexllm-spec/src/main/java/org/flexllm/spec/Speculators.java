package org.flexllm.spec;

import java.util.List;
import org.flexllm.engine.DraftModel;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.SpeculationTarget;
import org.flexllm.speculation.SpeculatorFactory;

/**
 * Speculative decoding for {@link org.flexllm.api.EngineBuilder#speculation}: a draft source, a policy and the
 * candidate trees' shape.
 * <pre>{@code
 * LlmEngine engine = LlmEngine.builder().model(folder)
 *         .speculation(Speculators.of(DraftSpec.parse("layers:2"), SpecPolicy.ADASERVE, TreeShape.tree(3, 4)))
 *         .build();
 * }</pre>
 * Greedy requests emit exactly what they would without speculation; sampled ones follow the same distribution
 * (and, seeded, the same tokens).
 */
public final class Speculators {
    private Speculators() {}

    /**
     * Drafts from {@code draft} ({@code ngram}, {@code layers:N} or a model folder).
     *
     * @throws InvalidSpeculationException for {@code oracle:}, a simulation that needs the target's own greedy
     *                                     output ({@link #oracle})
     */
    public static SpeculatorFactory of(DraftSpec draft, SpecPolicy policy, TreeShape shape) {
        return switch (draft) {
            case DraftSpec.Ngram n -> target -> new TreeSpeculator(new DrafterTrees(r -> new NgramDrafter(n.maxN()),
                    shape), policy, vocabSize(target));
            case DraftSpec.Layers l -> target -> new TreeSpeculator(new ModelTrees(DraftModel.earlyExit(target,
                    l.count()), shape), policy, vocabSize(target));
            case DraftSpec.Model m -> target -> new TreeSpeculator(new ModelTrees(DraftModel.load(target,
                    m.folder()), shape), policy, vocabSize(target));
            case DraftSpec.Oracle o -> throw new InvalidSpeculationException("oracle:" + o.alpha() + " simulates a"
                    + " draft from the target's own greedy output, for benchmarks only (flexllm bench decode, bench"
                    + " spec); use ngram, layers:N or a draft model folder");
        };
    }

    /**
     * The {@code oracle:ALPHA} simulation, for benchmarks: each request whose prompt begins one of
     * {@code references} (a prompt and its greedy continuation) is proposed the reference's next token with
     * probability {@code alpha}; others get random proposals.
     */
    public static SpeculatorFactory oracle(double alpha, SpecPolicy policy, TreeShape shape, List<int[]> references,
                                           long seed) {
        return target -> new TreeSpeculator(new DrafterTrees(r -> oracleFor(r, alpha, references, vocabSize(target),
                seed), shape), policy, vocabSize(target));
    }

    private static Drafter oracleFor(Decoding r, double alpha, List<int[]> references, int vocab, long seed) {
        int[] prompt = new int[r.promptLength()];
        for (int p = 0; p < prompt.length; p++) {
            prompt[p] = r.token(p);
        }
        for (int[] reference : references) {
            if (reference.length > prompt.length && startsWith(reference, prompt)) {
                return new OracleDrafter(alpha, vocab, prompt,
                        java.util.Arrays.copyOfRange(reference, prompt.length, reference.length), seed);
            }
        }
        return new OracleDrafter(alpha, vocab, prompt, new int[0], seed);
    }

    private static boolean startsWith(int[] reference, int[] prompt) {
        return java.util.Arrays.equals(reference, 0, prompt.length, prompt, 0, prompt.length);
    }

    private static int vocabSize(SpeculationTarget target) {
        return target.model().config().vocabSize();
    }
}
