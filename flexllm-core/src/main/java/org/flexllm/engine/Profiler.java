package org.flexllm.engine;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.graph.CompiledModel;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.Composition;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Observation;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;

/**
 * The short profiling run an engine starts with: a few decode batches and prefill chunks of dummy sequences,
 * timed on the system clock, to fit the latency model before the first request. What the profile cannot run without a finetuning
 * job is estimated from the prefill cost (a forward window as a prefill chunk plus its snapshots, a backward
 * layer-token as three forward ones) and corrected online by the first slices that run.
 */
final class Profiler {
    /** Backward over forward cost per token and layer: two GEMMs per forward one, plus replays. */
    private static final double BACKWARD_PER_FORWARD = 3;
    private static final int REPEATS = 3;

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final BatchBuilder batches;

    Profiler(CompiledModel model, PagedKvCache kv, BatchBuilder batches) {
        this.model = model;
        this.kv = kv;
        this.batches = batches;
    }

    /** Profiles within the token budget, the sequence limit and what the KV cache holds. */
    LinearLatencyModel calibrate(int tokenBudget, int maxSequences) {
        profile(tokenBudget, maxSequences);
        return LinearLatencyModel.calibrated(profile(tokenBudget, maxSequences));
    }

    /** The profile's observations; the first round only warms the JIT up. */
    private List<Observation> profile(int tokenBudget, int maxSequences) {
        List<Observation> profile = new ArrayList<>();
        int large = Math.min(Math.min(64, tokenBudget), kv.capacityTokens());
        int small = Math.min(16, large);
        double prefillLarge = prefill(large);
        profile.add(new Observation(new Composition(0, 0, small, 0, 0), prefill(small)));
        profile.add(new Observation(new Composition(0, 0, large, 0, 0), prefillLarge));
        for (int batch : new int[] {1, Math.min(4, Math.min(maxSequences, tokenBudget))}) {
            int context = Math.min(large, kv.blocks().capacity() / batch * kv.blockSize() - REPEATS);
            if (context > 0) {
                profile.add(new Observation(new Composition(batch, (long) batch * (context + 1), 0, 0, 0),
                        decode(batch, context)));
            }
        }
        profile.add(new Observation(Composition.EMPTY.withFinetune(large), prefillLarge));
        long layerTokens = (long) model.config().numLayers() * large;
        profile.add(new Observation(Composition.EMPTY.withBackward(layerTokens), BACKWARD_PER_FORWARD * prefillLarge));
        return profile;
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

    private Sequence dummy(int tokens) {
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = 1 + i % (model.config().vocabSize() - 1);
        }
        Sequence s = new Sequence(-1, ids, tokens);
        s.blocks().growTo(tokens, kv.blockSize(), kv.blocks());
        return s;
    }

    private double timed(List<ScheduledChunk> chunks) {
        long start = System.nanoTime();
        model.forward(batches.build(chunks, (s, p) -> p == s.length() - 1), kv, (index, logits) -> {});
        return (System.nanoTime() - start) / 1e6;
    }
}
