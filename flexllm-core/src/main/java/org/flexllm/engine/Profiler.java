package org.flexllm.engine;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.Composition;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Observation;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;

/**
 * The short profiling run an engine starts with: a few decode batches and prefill chunks of dummy sequences,
 * timed on the system clock, to fit the latency model before the first request; unless the engine never
 * finetunes, finetuning windows and backward slices of dummy samples too (without an adapter: the bypass
 * ops' cost is small, and the online fit adds it). Each kind of work at two sizes at least, so that its fixed
 * cost and its cost per token are told apart.
 */
final class Profiler {
    private static final int REPEATS = 3;
    /**
     * Tree tokens of the profiled verification: few, as speculation's trees beside small decode batches are, so
     * that the rows stay on the bandwidth-bound path (GEMV), whose cost per extra row is a fraction of a decode's.
     */
    private static final int TREE_NODES = 7;

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final BatchBuilder batches;

    Profiler(CompiledModel model, PagedKvCache kv, BatchBuilder batches) {
        this.model = model;
        this.kv = kv;
        this.batches = batches;
    }

    /**
     * Profiles within the token budget, the sequence limit and what the KV cache holds; with {@code finetunes},
     * a finetuning window and a one-layer backward slice of a dummy sample too; with {@code speculates}, a
     * decode verifying a chain of tree tokens.
     */
    LinearLatencyModel calibrate(int tokenBudget, int maxSequences, boolean finetunes, boolean speculates) {
        profile(tokenBudget, maxSequences, finetunes, speculates);
        return LinearLatencyModel.calibrated(profile(tokenBudget, maxSequences, finetunes, speculates));
    }

    /** The profile's observations; the first round only warms the JIT up. */
    private List<Observation> profile(int tokenBudget, int maxSequences, boolean finetunes, boolean speculates) {
        List<Observation> profile = new ArrayList<>();
        int large = Math.min(Math.min(64, tokenBudget), kv.capacityTokens());
        int small = Math.min(16, large);
        double prefillLarge = prefill(large);
        double prefillSmall = prefill(small);
        profile.add(new Observation(Composition.EMPTY.plusPrefill(0, small), prefillSmall));
        profile.add(new Observation(Composition.EMPTY.plusPrefill(0, large), prefillLarge));
        for (int batch : new int[] {1, Math.min(4, Math.min(maxSequences, tokenBudget))}) {
            int context = Math.min(large, kv.blocks().capacity() / batch * kv.blockSize() - REPEATS);
            if (context > 0) {
                profile.add(new Observation(Composition.EMPTY.plusDecode(batch, (long) batch * (context + 1)),
                        decode(batch, context)));
            }
        }
        if (speculates && large > small) {
            profile.add(tree(small, Math.min(TREE_NODES, tokenBudget - 1)));
        }
        if (finetunes) {
            profile.addAll(finetuning(small, large));
        }
        return profile;
    }

    /**
     * One decode at {@code context} with a chain of {@code nodes} tree tokens: a chain attends as a prompt chunk
     * does, so it is timed as one.
     */
    private Observation tree(int context, int nodes) {
        Sequence s = dummy(context + 1 + nodes);
        timed(List.of(new ScheduledChunk(s, 0, context)));
        double best = Double.MAX_VALUE;
        for (int r = 0; r < REPEATS; r++) {
            best = Math.min(best, timed(List.of(new ScheduledChunk(s, context, 1 + nodes))));
        }
        s.blocks().releaseAll(kv.blocks());
        long keys = Composition.context(context + 1, nodes);
        return new Observation(Composition.EMPTY.plusDecode(1, context + 1).plusTree(nodes, keys), best);
    }

    /**
     * Forward windows of 1, {@code small - 1} and {@code large - small} tokens of a dummy sample (the window's fixed
     * cost apart from its tokens'), then one backward layer of it, and one of a sample of {@code small} tokens (a
     * slice's per-layer cost apart from its per-token cost).
     */
    private List<Observation> finetuning(int small, int large) {
        List<Observation> profile = new ArrayList<>();
        TrainingSequence sample = dummySample(large);
        try {
            for (int[] window : new int[][] {{0, 1}, {1, small - 1}, {small, large - small}}) {
                if (window[1] == 0) {
                    continue;
                }
                double ms = timed(() -> model.forward(batches.buildTraining(sample, window[0], window[1], -1, 1f,
                        true), kv, null));
                profile.add(new Observation(Composition.EMPTY.plusWindow(window[0], window[1]), ms));
            }
            profile.add(backwardLayer(sample));
        } finally {
            sample.blocks().releaseAll(kv.blocks());
        }
        // One at a time: the KV cache may hold no more than the larger sample.
        TrainingSequence shorter = dummySample(small);
        try {
            model.forward(batches.buildTraining(shorter, 0, small, -1, 1f, true), kv, null);
            profile.add(backwardLayer(shorter));
        } finally {
            shorter.blocks().releaseAll(kv.blocks());
        }
        return profile;
    }

    private TrainingSequence dummySample(int tokens) {
        int[] ids = ids(tokens);
        var sample = new TrainingSequence(ids, ids, model.newTape(tokens), 0);
        sample.blocks().growTo(tokens, kv.blockSize(), kv.blocks());
        return sample;
    }

    /** The top layer's backward of a sample whose forward ran. */
    private Observation backwardLayer(TrainingSequence sample) {
        int top = model.config().numLayers();
        int length = sample.length();
        double ms = timed(() -> model.backward(batches.buildTraining(sample, 0, length, -1, 1f, false), kv, sample,
                top, top - 1));
        return new Observation(Composition.EMPTY.withBackward(1, length), ms);
    }

    /** The best of a few prefills of {@code tokens} dummy tokens, in ms. */
    private double prefill(int tokens) {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < REPEATS; r++) {
            Sequence s = dummy(tokens);
            best = Math.min(best, timed(List.of(new ScheduledChunk(s, 0, tokens))));
            s.blocks().releaseAll(kv.blocks());
        }
        return best;
    }

    /** The best of a few decode steps of {@code batch} sequences of {@code context} cached tokens, in ms. */
    private double decode(int batch, int context) {
        List<Sequence> sequences = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            Sequence s = dummy(context + REPEATS);
            timed(List.of(new ScheduledChunk(s, 0, context)));
            sequences.add(s);
        }
        double best = Double.MAX_VALUE;
        for (int r = 0; r < REPEATS; r++) {
            int position = context + r;
            best = Math.min(best, timed(sequences.stream().map(s -> new ScheduledChunk(s, position, 1)).toList()));
        }
        sequences.forEach(s -> s.blocks().releaseAll(kv.blocks()));
        return best;
    }

    private int[] ids(int tokens) {
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = 1 + i % (model.config().vocabSize() - 1);
        }
        return ids;
    }

    private Sequence dummy(int tokens) {
        Sequence s = new Sequence(-1, ids(tokens), tokens);
        s.blocks().growTo(tokens, kv.blockSize(), kv.blocks());
        return s;
    }

    private double timed(List<ScheduledChunk> chunks) {
        return timed(() -> model.forward(batches.build(chunks, (s, p) -> p == s.length() - 1), kv, (i, logits) -> {}));
    }

    private static double timed(Runnable pass) {
        long start = System.nanoTime();
        pass.run();
        return (System.nanoTime() - start) / 1e6;
    }
}
