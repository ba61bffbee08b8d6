package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.junit.jupiter.api.Test;

/**
 * The blocked kernel against attention computed in double, one query at a time: GQA groups, several sequences per
 * batch, tiles of one to eight tokens, head widths from 8 to 256, shapes following each other on the same threads.
 * Worker threads read the segments, so they come from a shared arena.
 */
class BlockedAttentionTest {
    @Test
    void shapesOfDifferentWidthsOneAfterTheOther() {
        check(1, 2, 1, 256, 16);
        check(8, 8, 1, 8, 1);
        check(5, 4, 2, 16, 3);
    }

    /** {@code tokens} consecutive positions of each of {@code sequences} sequences, at the end of a 20-token prefix. */
    private static void check(int tokens, int heads, int kvHeads, int headDim, int sequences) {
        int blockSize = 4;
        int prefix = 20;
        int length = prefix + tokens;
        int kvDim = kvHeads * headDim;
        int blocksPerSequence = Math.ceilDiv(length, blockSize);
        var random = new SplittableRandom(heads * 31L + headDim);
        try (Arena arena = Arena.ofShared()) {
            int slots = sequences * blocksPerSequence * blockSize;
            MemorySegment keys = floats(arena, (long) slots * kvDim, random);
            MemorySegment values = floats(arena, (long) slots * kvDim, random);
            int n = tokens * sequences;
            MemorySegment q = floats(arena, (long) n * heads * headDim, random);
            MemorySegment out = arena.allocate((long) n * heads * headDim * Float.BYTES, 64);
            int[][] tables = new int[sequences][blocksPerSequence];
            int[] sequence = new int[n];
            int[] visible = new int[n];
            int[] slot = new int[n];
            for (int s = 0; s < sequences; s++) {
                for (int b = 0; b < blocksPerSequence; b++) {
                    tables[s][b] = s * blocksPerSequence + b;
                }
                for (int t = 0; t < tokens; t++) {
                    int row = s * tokens + t;
                    sequence[row] = s;
                    visible[row] = prefix + t + 1;
                    slot[row] = AttentionBatch.slotOf(tables[s], prefix + t, blockSize);
                }
            }
            var batch = new AttentionBatch(heads, kvHeads, headDim, blockSize, n, slot, sequence, visible, tables);
            var layer = new KvLayer(keys, values, kvDim);
            BlockedAttention.attention(q, batch, layer, out);
            for (int row = 0; row < n; row++) {
                for (int h = 0; h < heads; h++) {
                    double[] expected = reference(q, keys, values, batch, row, h);
                    for (int d = 0; d < headDim; d++) {
                        float actual = out.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) row * heads + h) * headDim + d);
                        assertEquals(expected[d], actual, 1e-5, "row " + row + " head " + h + " dim " + d);
                    }
                }
            }
        }
    }

    /** softmax(q·kᵀ/√d)·v in double over the row's visible positions. */
    private static double[] reference(MemorySegment q, MemorySegment keys, MemorySegment values, AttentionBatch b,
                                      int row, int h) {
        int hd = b.headDim();
        int g = h / (b.heads() / b.kvHeads());
        int kvDim = b.kvHeads() * hd;
        int[] table = b.blockTables()[b.sequence()[row]];
        int seen = b.visible()[row];
        double[] scores = new double[seen];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < seen; j++) {
            long key = (long) AttentionBatch.slotOf(table, j, b.blockSize()) * kvDim + (long) g * hd;
            double dot = 0;
            for (int d = 0; d < hd; d++) {
                dot += get(q, ((long) row * b.heads() + h) * hd + d) * get(keys, key + d);
            }
            scores[j] = dot / Math.sqrt(hd);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < seen; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[hd];
        for (int j = 0; j < seen; j++) {
            long value = (long) AttentionBatch.slotOf(table, j, b.blockSize()) * kvDim + (long) g * hd;
            for (int d = 0; d < hd; d++) {
                out[d] += scores[j] / sum * get(values, value + d);
            }
        }
        return out;
    }

    private static double get(MemorySegment m, long index) {
        return m.getAtIndex(ValueLayout.JAVA_FLOAT, index);
    }

    private static MemorySegment floats(Arena arena, long count, SplittableRandom random) {
        MemorySegment m = arena.allocate(count * Float.BYTES, 64);
        for (long i = 0; i < count; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextDouble(-1, 1));
        }
        return m;
    }
}
