package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.random.RandomGenerator;
import org.flexllm.Shared;
import org.flexllm.GoldenCase;
import org.flexllm.FlexLlmException;
import org.flexllm.api.LoadedModel;
import org.flexllm.api.Slo;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.graph.CompiledModel;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.SpeculationTarget;
import org.junit.jupiter.api.Test;

/** A draft model scores trees as the model it is made of scores each path alone, and refuses bad drafts. */
class DraftModelTest {
    private static final GoldenCase GOLDEN = GoldenCase.all().filter(c -> !c.bf16()).findFirst().orElseThrow();

    @Test
    void aDraftOfAllTheLayersScoresEachNodeAsItsPathAlone() {
        int[] prompt = GoldenCase.ids(GOLDEN.inputs().get("prompts").get(0));
        try (LoadedModel target = LoadedModel.open(GOLDEN.folder().toString()); var backend = new CpuBackend();
             DraftModel draft = DraftModel.load(target(target, backend), GOLDEN.folder());
             var runner = new SingleSequence(target.config(), target.weights(), 64)) {
            var tree = new DraftTree(new int[] {prompt[prompt.length - 1], 5, 9, 2}, new int[] {-1, 0, 0, 2});
            float[][] logits = new float[tree.size()][target.config().vocabSize()];
            // Twice: the second call finds the prompt cached and scores the tree alone.
            for (int call = 0; call < 2; call++) {
                assertTrue(draft.score(List.of(decoding(prompt)), List.of(tree),
                        java.util.Collections.singletonList(logits))[0], "scored");
                for (int node = 0; node < tree.size(); node++) {
                    int[] path = pathOf(prompt, tree, node);
                    List<float[]> alone = runner.logits(path, path.length);
                    float[] expected = alone.get(alone.size() - 1);
                    for (int v = 0; v < expected.length; v++) {
                        assertEquals(expected[v], logits[node][v], 1e-5 * Math.max(1, Math.abs(expected[v])),
                                "call " + call + " node " + node + " id " + v);
                    }
                }
            }
        }
    }

    @Test
    void earlyExitNeedsFewerLayersThanTheTarget() {
        try (LoadedModel target = LoadedModel.open(GOLDEN.folder().toString()); var backend = new CpuBackend()) {
            int layers = target.config().numLayers();
            var e = assertThrows(IllegalArgumentException.class,
                    () -> DraftModel.earlyExit(target(target, backend), layers));
            assertTrue(e.getMessage().contains("layers:" + layers), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> DraftModel.earlyExit(target(target, backend), 0));
        }
    }

    @Test
    void aDraftWithAnotherVocabularyIsRefused() {
        try (LoadedModel target = LoadedModel.open(GOLDEN.folder().toString()); var backend = new CpuBackend()) {
            Path stories = Shared.stories260K();
            var e = assertThrows(FlexLlmException.class, () -> DraftModel.load(target(target, backend), stories));
            assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
        }
    }

    private static SpeculationTarget target(LoadedModel model, CpuBackend backend) {
        CompiledModel compiled = CompiledModel.compile(backend, model.config(), model.weights(), List.of(), 64, 256);
        return new SpeculationTarget(model, backend, compiled, 256, 4, 0);
    }

    private static int[] pathOf(int[] prompt, DraftTree tree, int node) {
        int depth = tree.depth(node);
        int[] ids = java.util.Arrays.copyOf(prompt, prompt.length + depth);
        for (int i = node, at = ids.length - 1; i > 0; i = tree.parent(i), at--) {
            ids[at] = tree.token(i);
        }
        return ids;
    }

    private static Decoding decoding(int[] tokens) {
        return new Decoding() {
            @Override public long id() { return 7; }
            @Override public int length() { return tokens.length; }
            @Override public int token(int position) { return tokens[position]; }
            @Override public int promptLength() { return tokens.length; }
            @Override public int generated() { return 0; }
            @Override public long firstTokenNanos() { return 0; }
            @Override public Slo slo() { return new Slo(1000, 100); }
            @Override public SamplingParams params() { return SamplingParams.builder().temperature(0).build(); }
            @Override public TokenHistory history() { return new TokenHistory(1); }
            @Override public RandomGenerator random() { return RandomGenerator.of("L64X128MixRandom"); }
        };
    }
}
