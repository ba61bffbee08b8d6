package org.flexllm.engine;

import java.util.List;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.graph.ForwardBatch;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;

/**
 * Flattens an iteration's chunks into one token batch: ids, positions, KV slots and block tables, and the
 * rows whose logits are wanted. The arrays are allocated once for the largest batch and reused.
 */
final class BatchBuilder {
    /** Which positions of a sequence need next-token logits (the last one always; prompt ones for logprobs). */
    interface LogitsWanted {
        boolean at(Sequence sequence, int position);
    }

    private final ModelConfig config;
    private final PagedKvCache kv;
    private final int[] tokens;
    private final int[] positions;
    private final int[] slot;
    private final int[] sequence;
    private final int[] visible;
    private final int[][] blockTables;
    private final int[] logitRows;
    private final Sequence[] rowSequence;
    private final int[] rowPosition;

    BatchBuilder(ModelConfig config, PagedKvCache kv, int maxTokens) {
        this.config = config;
        this.kv = kv;
        tokens = new int[maxTokens];
        positions = new int[maxTokens];
        slot = new int[maxTokens];
        sequence = new int[maxTokens];
        visible = new int[maxTokens];
        blockTables = new int[maxTokens][];
        logitRows = new int[maxTokens];
        rowSequence = new Sequence[maxTokens];
        rowPosition = new int[maxTokens];
    }

    ForwardBatch build(List<ScheduledChunk> chunks, LogitsWanted wanted) {
        int n = 0;
        int logits = 0;
        for (int c = 0; c < chunks.size(); c++) {
            ScheduledChunk chunk = chunks.get(c);
            Sequence s = chunk.sequence();
            blockTables[c] = s.blocks().blocks();
            for (int p = chunk.start(); p < chunk.start() + chunk.count(); p++, n++) {
                tokens[n] = s.token(p);
                positions[n] = p;
                sequence[n] = c;
                visible[n] = p + 1;
                slot[n] = AttentionBatch.slotOf(blockTables[c], p, kv.blockSize());
                if (wanted.at(s, p)) {
                    logitRows[logits] = n;
                    rowSequence[logits] = s;
                    rowPosition[logits++] = p;
                }
            }
        }
        AttentionBatch attention = new AttentionBatch(config.numHeads(), config.numKvHeads(), config.headDim(),
                kv.blockSize(), n, slot, sequence, visible, blockTables);
        return new ForwardBatch(n, tokens, positions, attention, logitRows, logits);
    }

    /** The sequence whose logits are the {@code index}-th logit row of the last built batch. */
    Sequence rowSequence(int index) {
        return rowSequence[index];
    }

    /** The position (within its sequence) of the {@code index}-th logit row. */
    int rowPosition(int index) {
        return rowPosition[index];
    }
}
