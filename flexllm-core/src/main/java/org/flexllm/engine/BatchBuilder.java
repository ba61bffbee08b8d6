package org.flexllm.engine;

import java.util.List;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.graph.ForwardBatch;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.graph.TrainingWindow;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;
import org.flexllm.speculation.DraftTree;

/**
 * Flattens an iteration's chunks into one token batch: ids, positions, KV slots and block tables, and the
 * rows whose logits are wanted. The arrays are allocated once for the largest batch and reused.
 */
final class BatchBuilder {
    /** Which positions of a sequence need next-token logits (the last one always; prompt ones for logprobs). */
    interface LogitsWanted {
        boolean at(Sequence sequence, int position);
    }

    /** The token tree a decoding sequence verifies this iteration, or null. */
    interface Trees {
        Trees NONE = s -> null;

        DraftTree of(Sequence sequence);
    }

    private final ModelConfig config;
    private final PagedKvCache kv;
    private final int[] tokens;
    private final int[] positions;
    private final int[] slot;
    private final int[] sequence;
    private final int[] visible;
    private final int[] treeStart;
    private final long[] ancestors;
    private final int[][] blockTables;
    private final int[] adapters;
    private final int[] logitRows;
    private final int[] logitTargets;
    private final Sequence[] rowSequence;
    private final int[] rowPosition;
    private final int[] rowNode;

    BatchBuilder(ModelConfig config, PagedKvCache kv, int maxTokens) {
        this.config = config;
        this.kv = kv;
        tokens = new int[maxTokens];
        positions = new int[maxTokens];
        slot = new int[maxTokens];
        sequence = new int[maxTokens];
        visible = new int[maxTokens];
        treeStart = new int[maxTokens];
        ancestors = new long[maxTokens];
        blockTables = new int[maxTokens][];
        adapters = new int[maxTokens];
        logitRows = new int[maxTokens];
        logitTargets = new int[maxTokens];
        rowSequence = new Sequence[maxTokens];
        rowPosition = new int[maxTokens];
        rowNode = new int[maxTokens];
    }

    ForwardBatch build(List<ScheduledChunk> chunks, LogitsWanted wanted) {
        return build(chunks, wanted, Trees.NONE, null, -1);
    }

    /**
     * The chunks' tokens, then a finetuning window's (positions {@code [window.firstPosition(), + count)} of its
     * sequence on adapter {@code adapter}) when {@code window} is not null: inference and finetuning in one pass.
     * The window's targets get logit rows after the inference rows'. A decode with a tree (from {@code trees})
     * carries every node of it, each wanting logits.
     */
    ForwardBatch build(List<ScheduledChunk> chunks, LogitsWanted wanted, Trees trees, TrainingWindow window,
                       int adapter) {
        int n = 0;
        int logits = 0;
        for (int c = 0; c < chunks.size(); c++) {
            ScheduledChunk chunk = chunks.get(c);
            Sequence s = chunk.sequence();
            blockTables[c] = s.blocks().blocks();
            DraftTree tree = chunk.isDecode() ? trees.of(s) : null;
            if (tree != null) {
                for (int node = 0; node < tree.size(); node++, n++) {
                    treeRow(n, c, chunk.start(), tree, node, s.adapter());
                    logits = wantLogits(logits, n, s, chunk.start(), node);
                }
                continue;
            }
            for (int p = chunk.start(); p < chunk.start() + chunk.count(); p++, n++) {
                row(n, c, p, s.token(p), s.adapter());
                if (wanted.at(s, p)) {
                    logits = wantLogits(logits, n, s, p, -1);
                }
            }
        }
        TrainingWindow placed = null;
        if (window != null) {
            placed = new TrainingWindow(window.sequence(), n, window.firstPosition(), window.count(),
                    window.lossWeight());
            logits = addWindow(chunks.size(), placed, adapter, logits, true);
            n += window.count();
        }
        AttentionBatch attention = new AttentionBatch(config.numHeads(), config.numKvHeads(), config.headDim(),
                kv.blockSize(), n, slot, sequence, visible, treeStart, ancestors, blockTables);
        return new ForwardBatch(n, tokens, positions, adapters, attention, logitRows, logits, logitTargets, placed);
    }

    private int wantLogits(int logits, int n, Sequence s, int position, int node) {
        logitTargets[logits] = -1;
        logitRows[logits] = n;
        rowSequence[logits] = s;
        rowNode[logits] = node;
        rowPosition[logits] = position;
        return logits + 1;
    }

    /**
     * Node {@code node} of a tree whose root is at {@code root}: cached at position {@code root + node}, rotated
     * as position {@code root + depth}, attending to the prefix and to its ancestors.
     */
    private void treeRow(int n, int table, int root, DraftTree tree, int node, int adapter) {
        row(n, table, root + tree.depth(node), tree.token(node), adapter);
        slot[n] = AttentionBatch.slotOf(blockTables[table], root + node, kv.blockSize());
        visible[n] = root + node + 1;
        treeStart[n] = root;
        ancestors[n] = tree.ancestors(node);
    }

    /**
     * A batch of positions {@code [start, start + count)} of a finetuning sequence alone, on adapter
     * {@code adapter}: a forward window when {@code withTargets} (its targets get logit rows), else the whole
     * sequence for a backward slice. Both carry the window, so that bypass ops know which rows are training
     * (dropout).
     */
    ForwardBatch buildTraining(TrainingSequence s, int start, int count, int adapter, float lossWeight,
                               boolean withTargets) {
        var window = new TrainingWindow(s, 0, start, count, lossWeight);
        int logits = addWindow(0, window, adapter, 0, withTargets);
        AttentionBatch attention = new AttentionBatch(config.numHeads(), config.numKvHeads(), config.headDim(),
                kv.blockSize(), count, slot, sequence, visible, blockTables);
        return new ForwardBatch(count, tokens, positions, adapters, attention, logitRows, logits, logitTargets,
                window);
    }

    /** The window's rows from {@code w.firstRow()}, as block table {@code table}; returns the logit rows after. */
    private int addWindow(int table, TrainingWindow w, int adapter, int logits, boolean withTargets) {
        TrainingSequence s = w.sequence();
        blockTables[table] = s.blocks().blocks();
        for (int r = 0; r < w.count(); r++) {
            int p = w.firstPosition() + r;
            row(w.firstRow() + r, table, p, s.token(p), adapter);
            if (withTargets && s.target(p) >= 0) {
                logitRows[logits] = w.firstRow() + r;
                logitTargets[logits++] = s.target(p);
            }
        }
        return logits;
    }

    private void row(int n, int table, int position, int token, int adapter) {
        tokens[n] = token;
        positions[n] = position;
        sequence[n] = table;
        visible[n] = position + 1;
        treeStart[n] = Integer.MAX_VALUE;
        adapters[n] = adapter;
        slot[n] = AttentionBatch.slotOf(blockTables[table], position, kv.blockSize());
    }

    /** The sequence whose logits are the {@code index}-th logit row of the last built batch. */
    Sequence rowSequence(int index) {
        return rowSequence[index];
    }

    /** The position (within its sequence) of the {@code index}-th logit row; a tree's root's for a tree node. */
    int rowPosition(int index) {
        return rowPosition[index];
    }

    /** The tree node the {@code index}-th logit row scores, or −1 outside a tree. */
    int rowNode(int index) {
        return rowNode[index];
    }
}
