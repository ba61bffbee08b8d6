package org.flexllm.engine;

import java.util.List;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.LogitsSink;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.BlockTable;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;

/**
 * Runs finetuning sequences through a compiled model: the forward in windows that attend to the earlier
 * windows through the KV cache, then the backward top-down in slices of layers (or of a layer's rows). The
 * co-serving engine interleaves the same windows and slices with inference; this runner does them back to back.
 */
public final class TrainingRunner {
    private final CompiledModel model;
    private final PagedKvCache kv;
    private final BatchBuilder batches;

    /** The KV cache must hold the longest sequence; {@code maxTokens} bounds a window (the model's batch). */
    public TrainingRunner(CompiledModel model, PagedKvCache kv, int maxTokens) {
        this.model = model;
        this.kv = kv;
        this.batches = new BatchBuilder(model.config(), kv, maxTokens);
    }

    /** Forward only, on resident adapter {@code adapter} (or −1): every position's next-token logits to the sink. */
    public void logits(int[] tokens, int adapter, LogitsSink sink) {
        Sequence s = new Sequence(0, tokens, tokens.length, adapter);
        reserve(s.blocks(), tokens.length);
        try {
            model.forward(batches.build(List.of(new ScheduledChunk(s, 0, tokens.length)), (seq, p) -> true), kv, sink);
        } finally {
            s.blocks().releaseAll(kv.blocks());
        }
    }

    /**
     * Forward and backward of one sequence on resident adapter {@code adapter}, adding its parameters'
     * gradients; returns the sequence's weighted loss.
     *
     * @param window     tokens per forward window
     * @param slice      layers per backward slice
     * @param lossWeight each target's weight (1 / targets of the optimizer step)
     */
    public double run(TrainingSequence s, int adapter, float lossWeight, int window, int slice) {
        return run(s, adapter, lossWeight, window, () -> {
            var whole = batches.buildTraining(s, 0, s.length(), adapter, lossWeight, false);
            for (int top = model.config().numLayers(); top > 0; top -= slice) {
                model.backward(whole, kv, s, top, Math.max(0, top - slice));
            }
        });
    }

    /**
     * As {@link #run(TrainingSequence, int, float, int, int)}, with backward slices smaller than a layer: each
     * layer in chunks of {@code rows} rows, its last rows first.
     */
    public double runInRowChunks(TrainingSequence s, int adapter, float lossWeight, int window, int rows) {
        return run(s, adapter, lossWeight, window, () -> {
            for (int layer = model.config().numLayers() - 1; layer >= 0; layer--) {
                for (int end = s.length(); end > 0; end -= rows) {
                    int first = Math.max(0, end - rows);
                    model.backward(batches.buildTraining(s, first, end - first, adapter, lossWeight, false), kv, s,
                            layer + 1, layer);
                }
            }
        });
    }

    private double run(TrainingSequence s, int adapter, float lossWeight, int window, Runnable backward) {
        reserve(s.blocks(), s.length());
        try {
            forwardWindows(s, adapter, lossWeight, window);
            backward.run();
            return s.loss();
        } finally {
            s.blocks().releaseAll(kv.blocks());
        }
    }

    /** The forward of a sequence alone, for an evaluation loss: no gradient reaches the parameters. */
    public double evaluate(TrainingSequence s, int adapter, float lossWeight, int window) {
        reserve(s.blocks(), s.length());
        try {
            forwardWindows(s, adapter, lossWeight, window);
            return s.loss();
        } finally {
            s.blocks().releaseAll(kv.blocks());
        }
    }

    private void forwardWindows(TrainingSequence s, int adapter, float lossWeight, int window) {
        for (int start = 0; start < s.length(); start += window) {
            int count = Math.min(window, s.length() - start);
            model.forward(batches.buildTraining(s, start, count, adapter, lossWeight, true), kv, null);
        }
    }

    private void reserve(BlockTable blocks, int tokens) {
        int needed = blocks.missingFor(tokens, kv.blockSize());
        if (needed > kv.blocks().free()) {
            throw new KvCacheTooSmallException("a sequence of " + tokens + " tokens needs " + needed
                    + " KV blocks, " + kv.blocks().free() + " are free");
        }
        blocks.growTo(tokens, kv.blockSize(), kv.blocks());
    }
}
