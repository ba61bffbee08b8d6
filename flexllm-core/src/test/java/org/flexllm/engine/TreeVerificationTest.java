package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.GoldenCase;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;
import org.flexllm.speculation.DraftTree;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A token tree scored in one pass equals each root-to-node path run as its own sequence, and rolling the cache
 * back to an accepted path leaves it as if only that path had been decoded.
 */
class TreeVerificationTest {
    private static final double TOLERANCE = 1e-5;
    /**
     * Two branches from the root; the first holds a deeper chain, the second a fork: node 5's path is 0-2-4-5,
     * so accepting it moves three nodes.
     */
    private static final DraftTree TREE = new DraftTree(new int[] {0, 7, 11, 3, 9, 4, 5, 8},
            new int[] {-1, 0, 0, 1, 2, 4, 3, 4});

    static Stream<GoldenCase> cases() {
        return GoldenCase.all().filter(c -> !c.bf16());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void eachNodeScoresAsItsOwnPath(GoldenCase golden) {
        try (Checkpoint checkpoint = Checkpoint.load(golden.folder());
             var runner = new SingleSequence(checkpoint.config(), checkpoint.weights(), 64)) {
            int[] prompt = GoldenCase.ids(golden.inputs().get("prompts").get(0));
            DraftTree tree = rooted(TREE, prompt[prompt.length - 1], checkpoint.config().vocabSize());
            List<float[]> scored = scoreTree(runner, prompt, tree, null);
            for (int node = 0; node < tree.size(); node++) {
                int[] path = withPath(prompt, tree, node);
                List<float[]> alone = runner.logits(path, path.length);
                assertClose(alone.get(alone.size() - 1), scored.get(node), golden + " node " + node);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rollbackKeepsExactlyTheAcceptedPath(GoldenCase golden) {
        try (Checkpoint checkpoint = Checkpoint.load(golden.folder());
             var runner = new SingleSequence(checkpoint.config(), checkpoint.weights(), 64)) {
            int[] prompt = GoldenCase.ids(golden.inputs().get("prompts").get(0));
            DraftTree tree = rooted(TREE, prompt[prompt.length - 1], checkpoint.config().vocabSize());
            int[] accepted = {2, 4, 5};
            PagedKvCache kv = runner.kv();
            int freeBefore = kv.blocks().free();
            List<float[][]> kept = new ArrayList<>();
            scoreTree(runner, prompt, tree, s -> {
                Speculation.keepPath(runner.model(), kv, s, prompt.length - 1, accepted);
                assertEquals(prompt.length + accepted.length, s.computed(), "computed after rollback");
                assertEquals(ceilDiv(s.computed(), kv.blockSize()), s.blocks().size(), "blocks after rollback");
                kept.add(cache(kv, s, s.computed()));
            });
            assertEquals(freeBefore, kv.blocks().free(), "every block back after the sequence is released");
            int[] decoded = withPath(prompt, tree, 5);
            float[][] plain = decodedCache(runner, decoded);
            for (int p = 0; p < plain.length; p++) {
                assertClose(plain[p], kept.get(0)[p], golden + " cache position " + p);
            }
        }
    }

    /** Node labels of {@code shape} turned into tokens of this vocabulary, with {@code root} at the root. */
    private static DraftTree rooted(DraftTree shape, int root, int vocab) {
        int[] tokens = shape.tokens().clone();
        tokens[0] = root;
        for (int i = 1; i < tokens.length; i++) {
            tokens[i] = 1 + tokens[i] % (vocab - 1);
        }
        return new DraftTree(tokens, shape.parents());
    }

    /** The prompt followed by the tokens of the path from the tree's root (the prompt's last) to {@code node}. */
    private static int[] withPath(int[] prompt, DraftTree tree, int node) {
        int depth = tree.depth(node);
        int[] ids = Arrays.copyOf(prompt, prompt.length + depth);
        for (int i = node, at = ids.length - 1; i > 0; i = tree.parent(i), at--) {
            ids[at] = tree.token(i);
        }
        return ids;
    }

    /**
     * Prefills all of the prompt but its last token, then scores the tree rooted there in one pass; hands the
     * sequence to {@code after} (when not null) before releasing its blocks. Returns each node's logits.
     */
    private static List<float[]> scoreTree(SingleSequence runner, int[] prompt, DraftTree tree,
                                           java.util.function.Consumer<Sequence> after) {
        PagedKvCache kv = runner.kv();
        Sequence s = new Sequence(0, prompt, prompt.length);
        int prefix = prompt.length - 1;
        s.blocks().growTo(prefix, kv.blockSize(), kv.blocks());
        runner.model().forward(runner.batches().build(List.of(new ScheduledChunk(s, 0, prefix)), (q, p) -> false),
                kv, (i, row) -> {});
        s.advance(prefix);
        s.blocks().growTo(prefix + tree.size(), kv.blockSize(), kv.blocks());
        float[][] logits = new float[tree.size()][];
        var batch = runner.batches().build(List.of(new ScheduledChunk(s, prefix, 1)), (q, p) -> true,
                q -> tree, null, -1);
        runner.model().forward(batch, kv, (i, row) -> logits[runner.batches().rowNode(i)] = row.clone());
        s.advance(1);
        if (after != null) {
            after.accept(s);
        }
        s.blocks().releaseAll(kv.blocks());
        return Arrays.asList(logits);
    }

    /** The cache's keys then values, layer by layer, of every position of a sequence decoded plainly. */
    private static float[][] decodedCache(SingleSequence runner, int[] ids) {
        PagedKvCache kv = runner.kv();
        Sequence s = new Sequence(0, ids, ids.length);
        s.blocks().growTo(ids.length, kv.blockSize(), kv.blocks());
        runner.model().forward(runner.batches().build(List.of(new ScheduledChunk(s, 0, ids.length)), (q, p) -> false),
                kv, (i, row) -> {});
        float[][] cache = cache(kv, s, ids.length);
        s.blocks().releaseAll(kv.blocks());
        return cache;
    }

    private static float[][] cache(PagedKvCache kv, Sequence s, int positions) {
        int kvDim = kv.layer(0).kvDim();
        float[][] cache = new float[positions][2 * kv.layers() * kvDim];
        for (int p = 0; p < positions; p++) {
            long offset = (long) AttentionBatch.slotOf(s.blocks().blocks(), p, kv.blockSize()) * kvDim * Float.BYTES;
            for (int l = 0; l < kv.layers(); l++) {
                copy(kv.layer(l).keys(), offset, cache[p], 2 * l * kvDim, kvDim);
                copy(kv.layer(l).values(), offset, cache[p], (2 * l + 1) * kvDim, kvDim);
            }
        }
        return cache;
    }

    private static void copy(MemorySegment from, long offset, float[] to, int at, int count) {
        MemorySegment.copy(from, ValueLayout.JAVA_FLOAT, offset, to, at, count);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= TOLERANCE * scale,
                    what + " entry " + i + ": " + actual[i] + " vs " + expected[i]);
        }
    }
}
