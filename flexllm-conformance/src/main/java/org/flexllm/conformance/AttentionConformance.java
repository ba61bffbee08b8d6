package org.flexllm.conformance;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The paged KV cache and attention against double-precision softmax attention: MHA, GQA and MQA, head widths
 * 8-128, blocks of 1-16 slots scattered over the cache, batches mixing a whole prompt, a prefill chunk and
 * single decode tokens, and a token tree's ancestor mask.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
public class AttentionConformance extends BackendSuite {

    /** Sequences of the given lengths in a cache of scattered blocks, each position's key and value stored. */
    private final class Cache {
        final int heads;
        final int kvHeads;
        final int headDim;
        final int blockSize;
        final int kvDim;
        final int[] lengths;
        final int[][] tables;
        final float[] keys;  // [sequence][position] rows, in the order they were stored
        final float[] values;
        final int[] firstRow;
        final KvLayer layer;
        final Operands o;

        Cache(Operands o, int heads, int kvHeads, int headDim, int blockSize, int... lengths) {
            this.o = o;
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.headDim = headDim;
            this.blockSize = blockSize;
            this.kvDim = kvHeads * headDim;
            this.lengths = lengths;
            List<Integer> blocks = new ArrayList<>();
            int total = 0;
            for (int length : lengths) {
                total += length;
            }
            int blockCount = 0;
            for (int length : lengths) {
                blockCount += (length + blockSize - 1) / blockSize;
            }
            for (int b = 0; b < blockCount + 3; b++) {
                blocks.add(b);
            }
            Collections.shuffle(blocks, o.random());
            tables = new int[lengths.length][];
            firstRow = new int[lengths.length];
            int next = 0;
            int row = 0;
            for (int s = 0; s < lengths.length; s++) {
                tables[s] = new int[(lengths[s] + blockSize - 1) / blockSize];
                for (int i = 0; i < tables[s].length; i++) {
                    tables[s][i] = blocks.get(next++);
                }
                firstRow[s] = row;
                row += lengths[s];
            }
            long slots = (long) (blockCount + 3) * blockSize * kvDim;
            layer = new KvLayer(backend.allocate(slots), backend.allocate(slots), kvDim);
            keys = o.floats(total * kvDim);
            values = o.floats(total * kvDim);
            int[] slot = new int[total];
            int[] sequence = new int[total];
            int[] visible = new int[total];
            for (int s = 0; s < lengths.length; s++) {
                for (int pos = 0; pos < lengths[s]; pos++) {
                    slot[firstRow[s] + pos] = AttentionBatch.slotOf(tables[s], pos, blockSize);
                    sequence[firstRow[s] + pos] = s;
                    visible[firstRow[s] + pos] = pos + 1;
                }
            }
            var all = new AttentionBatch(heads, kvHeads, headDim, blockSize, total, slot, sequence, visible, tables);
            backend.storeKv(o.upload(keys), o.upload(values), all, layer);
        }

        double key(int s, int pos, int i) {
            return keys[(firstRow[s] + pos) * kvDim + i];
        }

        double value(int s, int pos, int i) {
            return values[(firstRow[s] + pos) * kvDim + i];
        }

        int slot(int s, int pos) {
            return AttentionBatch.slotOf(tables[s], pos, blockSize);
        }
    }

    /** Every stored key and value sits in its slot, and copyKv moves slots in order. */
    @ParameterizedTest(name = "kvHeads={0} headDim={1} block={2}")
    @CsvSource({"1, 8, 1", "2, 16, 5", "4, 64, 16"})
    void storeKvAndCopyKv(int kvHeads, int headDim, int blockSize) {
        Cache c = new Cache(operands(kvHeads * 31L + headDim + blockSize), kvHeads, kvHeads, headDim, blockSize,
                1, 7, 20);
        int slots = (int) (c.layer.keys().byteSize() / Float.BYTES);
        float[] keys = c.o.download(c.layer.keys(), slots);
        float[] values = c.o.download(c.layer.values(), slots);
        for (int s = 0; s < c.lengths.length; s++) {
            for (int pos = 0; pos < c.lengths[s]; pos++) {
                for (int i = 0; i < c.kvDim; i++) {
                    int at = c.slot(s, pos) * c.kvDim + i;
                    if (keys[at] != c.key(s, pos, i) || values[at] != c.value(s, pos, i)) {
                        throw new AssertionError("storeKv: sequence " + s + " position " + pos + " element " + i);
                    }
                }
            }
        }
        // Sequence 2's positions 10.. compacted onto 3.., as an accepted token-tree path is.
        int count = 5;
        int[] from = new int[count];
        int[] to = new int[count];
        for (int i = 0; i < count; i++) {
            from[i] = c.slot(2, 10 + 2 * i);
            to[i] = c.slot(2, 3 + i);
        }
        backend.copyKv(from, to, count, c.layer);
        float[] moved = c.o.download(c.layer.keys(), slots);
        float[] movedValues = c.o.download(c.layer.values(), slots);
        for (int i = 0; i < count; i++) {
            for (int d = 0; d < c.kvDim; d++) {
                if (moved[to[i] * c.kvDim + d] != c.key(2, 10 + 2 * i, d)
                        || movedValues[to[i] * c.kvDim + d] != c.value(2, 10 + 2 * i, d)) {
                    throw new AssertionError("copyKv: copy " + i + " element " + d);
                }
            }
        }
    }

    /**
     * Queries: sequence 0 is a whole prompt, sequence 1 a prefill chunk of its last 5 positions, the others one
     * decode token each. With {@code tree}, sequence 1's chunk is a token tree whose nodes see random ancestors.
     */
    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} block={3} tree={4}")
    @CsvSource({"1, 1, 8, 1, false", "4, 2, 16, 4, false", "6, 2, 64, 16, false", "8, 1, 32, 5, false",
            "2, 2, 128, 16, false", "4, 2, 16, 3, true"})
    void attention(int heads, int kvHeads, int headDim, int blockSize, boolean tree) {
        Cache c = new Cache(operands(heads * 7L + kvHeads + headDim * 3L + blockSize), heads, kvHeads, headDim,
                blockSize, 9, 23, 1, 40);
        int[] chunk = {9, 5, 1, 1};
        int n = 16;
        int[] sequence = new int[n];
        int[] visible = new int[n];
        int[] treeStart = tree ? new int[n] : null;
        long[] ancestors = tree ? new long[n] : null;
        int t = 0;
        for (int s = 0; s < chunk.length; s++) {
            for (int i = 0; i < chunk[s]; i++, t++) {
                sequence[t] = s;
                visible[t] = c.lengths[s] - chunk[s] + i + 1;
                if (tree) {
                    treeStart[t] = s == 1 ? c.lengths[s] - chunk[s] : visible[t];
                    // A node sees itself and a random subset of the earlier nodes of its tree.
                    ancestors[t] = s == 1 ? c.o.random().nextLong() & ((1L << i) - 1) | 1L << i : 0;
                }
            }
        }
        var batch = new AttentionBatch(heads, kvHeads, headDim, blockSize, n, new int[n], sequence, visible,
                treeStart, ancestors, c.tables);
        int width = heads * headDim;
        float[] q = c.o.floats(n * width);
        MemorySegment out = c.o.upload(new float[n * width]);

        backend.attention(c.o.upload(q), batch, c.layer, out);

        Expected e = new Expected(n * width);
        double scale = 1 / Math.sqrt(headDim);
        for (t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / kvHeads);
                double[] p = new double[visible[t]];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible[t]; j++) {
                    if (!batch.attends(t, j)) {
                        p[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int i = 0; i < headDim; i++) {
                        dot += q[t * width + h * headDim + i] * c.key(sequence[t], j, g * headDim + i);
                    }
                    p[j] = dot * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < p.length; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int j = 0; j < p.length; j++) {
                    for (int i = 0; i < headDim; i++) {
                        e.add(t * width + h * headDim + i, p[j] / sum * c.value(sequence[t], j, g * headDim + i));
                    }
                }
            }
        }
        e.assertMatches(c.o.download(out, n * width), 1e-5, "attention");
    }

    /**
     * The gradient of a run of sequence 0's queries (positions {@code [first, first + n)}) through the recomputed
     * softmax: {@code dV_j += p_j·dOut}, {@code dS_j = p_j·(dOut·v_j − Σ_k p_k·dOut·v_k)}, {@code dq = Σ_j dS_j·k_j/√d},
     * {@code dK_j += dS_j·q/√d}, summed over the query heads that share a key head.
     */
    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} block={3} first={4} n={5}")
    @CsvSource({"1, 1, 8, 1, 0, 1", "4, 2, 16, 4, 0, 11", "4, 1, 32, 16, 13, 6", "6, 3, 64, 5, 20, 1",
            "4, 2, 8, 7, 0, 600"})
    void attentionBackward(int heads, int kvHeads, int headDim, int blockSize, int first, int n) {
        Cache c = new Cache(operands(heads * 5L + headDim + blockSize * 3L + first + n), heads, kvHeads, headDim,
                blockSize, first + n);
        int width = heads * headDim;
        int kvDim = c.kvDim;
        int rows = first + n;
        int[] sequence = new int[n];
        int[] visible = new int[n];
        for (int t = 0; t < n; t++) {
            visible[t] = first + t + 1;
        }
        var batch = new AttentionBatch(heads, kvHeads, headDim, blockSize, n, new int[n], sequence, visible, c.tables);
        float[] q = c.o.floats(n * width);
        float[] dOut = c.o.floats(n * width);
        float[] dKeys0 = c.o.floats(rows * kvDim);
        float[] dValues0 = c.o.floats(rows * kvDim);
        MemorySegment dq = c.o.upload(new float[n * width]);
        MemorySegment dKeys = c.o.upload(dKeys0);
        MemorySegment dValues = c.o.upload(dValues0);

        backend.attentionBackward(c.o.upload(q), c.o.upload(dOut), batch, c.layer, dq, dKeys, dValues);

        Expected eq = new Expected(n * width);
        Expected ek = new Expected(rows * kvDim);
        Expected ev = new Expected(rows * kvDim);
        for (int i = 0; i < rows * kvDim; i++) {
            ek.add(i, dKeys0[i]);
            ev.add(i, dValues0[i]);
        }
        double scale = 1 / Math.sqrt(headDim);
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / kvHeads);
                int qo = t * width + h * headDim;
                int len = visible[t];
                double[] p = new double[len];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    for (int i = 0; i < headDim; i++) {
                        p[j] += q[qo + i] * c.key(0, j, g * headDim + i) * scale;
                    }
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                double[] dp = new double[len];
                double mean = 0;
                double meanMagnitude = 0;
                for (int j = 0; j < len; j++) {
                    p[j] /= sum;
                    for (int i = 0; i < headDim; i++) {
                        dp[j] += dOut[qo + i] * c.value(0, j, g * headDim + i);
                        ev.add(j * kvDim + g * headDim + i, p[j] * dOut[qo + i]);
                    }
                    mean += p[j] * dp[j];
                    meanMagnitude += p[j] * Math.abs(dp[j]);
                }
                for (int j = 0; j < len; j++) {
                    double ds = p[j] * (dp[j] - mean);
                    double dsMagnitude = p[j] * (Math.abs(dp[j]) + meanMagnitude);
                    for (int i = 0; i < headDim; i++) {
                        double k = c.key(0, j, g * headDim + i);
                        eq.add(qo + i, ds * k * scale, dsMagnitude * Math.abs(k) * scale);
                        ek.add(j * kvDim + g * headDim + i, ds * q[qo + i] * scale,
                                dsMagnitude * Math.abs(q[qo + i]) * scale);
                    }
                }
            }
        }
        eq.assertMatches(c.o.download(dq, n * width), 1e-5, "attentionBackward dq");
        ek.assertMatches(c.o.download(dKeys, rows * kvDim), 1e-5, "attentionBackward dKeys");
        ev.assertMatches(c.o.download(dValues, rows * kvDim), 1e-5, "attentionBackward dValues");
    }
}
