package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The forward attention over the paged cache, end to end: each sequence's keys and values are written into the
 * slots of blocks scattered over the cache ({@link PagedAttention#storeKv}), and the kernel reading them back through
 * the block tables must give attention computed in double from the sequences as plain arrays, which know nothing of
 * blocks. Block sizes from 1 to 16 (sequences ending inside a block, on its edge, shorter than one), GQA ratios 1 to
 * 8, decode rows and prefill chunks in one batch.
 */
class PagedAttentionTest {
    private static final int HEAD_DIM = 16;

    @ParameterizedTest(name = "block size {0}, {1} heads on {2} kv heads")
    @CsvSource({"1, 4, 4", "3, 4, 2", "4, 8, 1", "16, 6, 3", "5, 8, 2"})
    void pagedAttentionMatchesAttentionOverThePlainSequences(int blockSize, int heads, int kvHeads) {
        int[] lengths = {1, 7, 16, 33};
        int[] queried = {1, 3, 1, 5};
        int kvDim = kvHeads * HEAD_DIM;
        Random random = new Random(blockSize * 1000L + heads * 10L + kvHeads);
        // Each sequence's rows as plain arrays: keys[s][position][kvDim], and its last queried[s] positions' queries.
        float[][][] keys = new float[lengths.length][][];
        float[][][] values = new float[lengths.length][][];
        for (int s = 0; s < lengths.length; s++) {
            keys[s] = randomRows(lengths[s], kvDim, random);
            values[s] = randomRows(lengths[s], kvDim, random);
        }
        int[][] tables = scatteredTables(lengths, blockSize, random);
        int cacheBlocks = 2 * totalBlocks(lengths, blockSize);
        int n = sum(queried);
        int[] slot = new int[n];
        int[] sequence = new int[n];
        int[] visible = new int[n];
        float[][] queries = new float[n][];
        for (int s = 0, row = 0; s < lengths.length; s++) {
            for (int p = lengths[s] - queried[s]; p < lengths[s]; p++, row++) {
                sequence[row] = s;
                visible[row] = p + 1;
                slot[row] = tables[s][p / blockSize] * blockSize + p % blockSize;
                queries[row] = randomRows(1, heads * HEAD_DIM, random)[0];
            }
        }
        try (Arena arena = Arena.ofShared()) {
            KvLayer layer = new KvLayer(arena.allocate((long) cacheBlocks * blockSize * kvDim * Float.BYTES, 64),
                    arena.allocate((long) cacheBlocks * blockSize * kvDim * Float.BYTES, 64), kvDim);
            for (int s = 0; s < lengths.length; s++) {
                store(arena, layer, s, keys[s], values[s], tables, blockSize, heads, kvHeads);
            }
            var batch = new AttentionBatch(heads, kvHeads, HEAD_DIM, blockSize, n, slot, sequence, visible, tables);
            MemorySegment q = segment(arena, queries);
            MemorySegment out = arena.allocate((long) n * heads * HEAD_DIM * Float.BYTES, 64);
            BlockedAttention.attention(q, batch, layer, out);
            for (int row = 0; row < n; row++) {
                int s = sequence[row];
                for (int h = 0; h < heads; h++) {
                    double[] expected = attention(queries[row], h, heads / kvHeads, keys[s], values[s], visible[row]);
                    for (int d = 0; d < HEAD_DIM; d++) {
                        float actual = out.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) row * heads + h) * HEAD_DIM + d);
                        assertEquals(expected[d], actual, 1e-5, "sequence " + s + " row " + row + " head " + h + " dim " + d);
                    }
                }
            }
        }
    }

    /** Writes all of sequence {@code s}'s rows into its slots, as a prefill of the whole sequence would. */
    private static void store(Arena arena, KvLayer layer, int s, float[][] k, float[][] v, int[][] tables,
                              int blockSize, int heads, int kvHeads) {
        int length = k.length;
        int[] slot = new int[length];
        int[] sequence = new int[length];
        int[] visible = new int[length];
        for (int p = 0; p < length; p++) {
            slot[p] = tables[s][p / blockSize] * blockSize + p % blockSize;
            sequence[p] = s;
            visible[p] = p + 1;
        }
        var batch = new AttentionBatch(heads, kvHeads, HEAD_DIM, blockSize, length, slot, sequence, visible, tables);
        PagedAttention.storeKv(segment(arena, k), segment(arena, v), batch, layer);
    }

    /** softmax(q·kᵀ/√d)·v in double for head {@code h} over the first {@code visible} positions. */
    private static double[] attention(float[] q, int h, int group, float[][] keys, float[][] values, int visible) {
        int g = h / group;
        double[] scores = new double[visible];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < visible; j++) {
            double dot = 0;
            for (int d = 0; d < HEAD_DIM; d++) {
                dot += (double) q[h * HEAD_DIM + d] * keys[j][g * HEAD_DIM + d];
            }
            scores[j] = dot / Math.sqrt(HEAD_DIM);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < visible; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[HEAD_DIM];
        for (int j = 0; j < visible; j++) {
            for (int d = 0; d < HEAD_DIM; d++) {
                out[d] += scores[j] / sum * values[j][g * HEAD_DIM + d];
            }
        }
        return out;
    }

    /** Block tables drawn without replacement from a shuffled cache twice the size needed: no two blocks adjacent in order. */
    private static int[][] scatteredTables(int[] lengths, int blockSize, Random random) {
        List<Integer> blocks = new ArrayList<>();
        for (int b = 0; b < 2 * totalBlocks(lengths, blockSize); b++) {
            blocks.add(b);
        }
        Collections.shuffle(blocks, random);
        int[][] tables = new int[lengths.length][];
        int next = 0;
        for (int s = 0; s < lengths.length; s++) {
            tables[s] = new int[Math.ceilDiv(lengths[s], blockSize)];
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = blocks.get(next++);
            }
        }
        return tables;
    }

    private static int totalBlocks(int[] lengths, int blockSize) {
        int total = 0;
        for (int length : lengths) {
            total += Math.ceilDiv(length, blockSize);
        }
        return total;
    }

    private static int sum(int[] values) {
        int total = 0;
        for (int v : values) {
            total += v;
        }
        return total;
    }

    private static float[][] randomRows(int rows, int width, Random random) {
        float[][] m = new float[rows][width];
        for (float[] row : m) {
            for (int i = 0; i < width; i++) {
                row[i] = random.nextFloat(-1, 1);
            }
        }
        return m;
    }

    private static MemorySegment segment(Arena arena, float[][] rows) {
        MemorySegment m = arena.allocate((long) rows.length * rows[0].length * Float.BYTES, 64);
        for (int r = 0; r < rows.length; r++) {
            MemorySegment.copy(rows[r], 0, m, ValueLayout.JAVA_FLOAT, (long) r * rows[0].length * Float.BYTES, rows[0].length);
        }
        return m;
    }
}
