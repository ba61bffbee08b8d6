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
 * finetunes, a finetuning window and a backward slice of a dummy sample too (without an adapter: the bypass
 * ops' cost is small, and the online fit adds it).
 */
final class Profiler {
    private static final int REPEATS = 3;

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
     * a finetuning window and a one-layer backward slice of a dummy sample too.
     */
    LinearLatencyModel calibrate(int tokenBudget, int maxSequences, boolean finetunes) {
        profile(tokenBudget, maxSequences, finetunes);
        return LinearLatencyModel.calibrated(profile(tokenBudget, maxSequences, finetunes));
    }

    /** The profile's observations; the first round only warms the JIT up. */
    private List<Observation> profile(int tokenBudget, int maxSequences, boolean finetunes) {
        List<Observation> profile = new ArrayList<>();
        int large = Math.min(Math.min(64, tokenBudget), kv.capacityTokens());
        int small = Math.min(16, large);
        double prefillLarge = prefill(large);
        double prefillSmall = prefill(small);
        profile.add(new Observation(new Composition(0, 0, small, 0, 0), prefillSmall));
        profile.add(new Observation(new Composition(0, 0, large, 0, 0), prefillLarge));
        for (int batch : new int[] {1, Math.min(4, Math.min(maxSequences, tokenBudget))}) {
            int context = Math.min(large, kv.blocks().capacity() / batch * kv.blockSize() - REPEATS);
            if (context > 0) {
                profile.add(new Observation(new Composition(batch, (long) batch * (context + 1), 0, 0, 0),
                        decode(batch, context)));
            }
        }
        if (finetunes) {
            profile.addAll(finetuning(small, large));
        }
        return profile;
    }

    /** Forward windows of {@code small} and {@code large} tokens of a dummy sample, then one backward layer. */
    private List<Observation> finetuning(int small, int large) {
        int[] ids = ids(large);
        var sample = new TrainingSequence(ids, ids, model.newTape(large), 0);
        sample.blocks().growTo(large, kv.blockSize(), kv.blocks());
        try {
            double window = timed(() -> model.forward(batches.buildTraining(sample, 0, small, -1, 1f, true), kv, null));
            double rest = timed(() -> model.forward(batches.buildTraining(sample, small, large - small, -1, 1f, true),
                    kv, null));
            int top = model.config().numLayers();
            double layer = timed(() -> model.backward(batches.buildTraining(sample, 0, large, -1, 1f, false), kv,
                    sample, top, top - 1));
            return List.of(new Observation(Composition.EMPTY.withFinetune(small), window),
                    new Observation(Composition.EMPTY.withFinetune(large - small), rest),
                    new Observation(Composition.EMPTY.withBackward(large), layer));
        } finally {
            sample.blocks().releaseAll(kv.blocks());
        }
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
