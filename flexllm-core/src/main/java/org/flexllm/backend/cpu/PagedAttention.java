package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;

/**
 * Attention over a paged KV cache. Each token attends to the first {@code visible} positions of its own
 * sequence (causal: its own position and before), reading keys and values through the sequence's block table;
 * a token-tree node skips the tree positions that are not its ancestors.
 * One work item is a (token, kv head) pair: each cached key and value is read once for all the query heads of
 * its GQA group.
 */
final class PagedAttention {
    /** Per worker thread: scores of one group, {@code [group][visible]}, grown as contexts grow. */
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);
    /** Per worker thread: where each visible position's key (and value) of one kv head starts, in floats. */
    private static final ThreadLocal<long[]> ROWS = ThreadLocal.withInitial(() -> new long[0]);

    private PagedAttention() {}

    static void storeKv(MemorySegment k, MemorySegment v, AttentionBatch b, KvLayer layer) {
        long bytes = (long) layer.kvDim() * Float.BYTES;
        for (int t = 0; t < b.n(); t++) {
            long dst = b.slot()[t] * bytes;
            MemorySegment.copy(k, t * bytes, layer.keys(), dst, bytes);
            MemorySegment.copy(v, t * bytes, layer.values(), dst, bytes);
        }
    }

    static void copyKv(int[] from, int[] to, int count, KvLayer layer) {
        long bytes = (long) layer.kvDim() * Float.BYTES;
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(layer.keys(), from[i] * bytes, layer.keys(), to[i] * bytes, bytes);
            MemorySegment.copy(layer.values(), from[i] * bytes, layer.values(), to[i] * bytes, bytes);
        }
    }

    static void attention(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out) {
        int group = b.heads() / b.kvHeads();
        Parallel.forRange(b.n() * b.kvHeads(), (from, to) -> {
            for (int item = from; item < to; item++) {
                int t = item / b.kvHeads();
                float[] scores = scratch(group * b.visible()[t]);
                attendGroup(q, b, layer, out, t, item % b.kvHeads(), scores);
            }
        });
    }

    /**
     * Cache offsets of kv head {@code g} for positions {@code [0, visible)} of the sequence with block table
     * {@code table}, in a per-thread array that the next call overwrites.
     */
    static long[] rows(AttentionBatch b, int[] table, int visible, int g, int kvDim) {
        long[] rows = rowScratch(visible);
        int bs = b.blockSize();
        for (int block = 0, j = 0; j < visible; block++) {
            long first = (long) table[block] * bs * kvDim + (long) g * b.headDim();
            for (int end = Math.min(visible, j + bs); j < end; j++) {
                rows[j] = first + (long) (j - block * bs) * kvDim;
            }
        }
        return rows;
    }

    private static long[] rowScratch(int count) {
        long[] rows = ROWS.get();
        if (rows.length < count) {
            rows = new long[Math.max(count, 2 * rows.length)];
            ROWS.set(rows);
        }
        return rows;
    }

    /**
     * As {@link #rows}, for the positions token {@code t} attends to: all of {@code [0, visible)} outside a
     * tree, its prefix and its ancestors inside one. Returns how many; their offsets are in {@link #ROWS}.
     */
    private static int attended(AttentionBatch b, int t, int g, int kvDim) {
        int[] table = b.blockTables()[b.sequence()[t]];
        int visible = b.visible()[t];
        long[] rows = rows(b, table, visible, g, kvDim);
        if (b.treeStart() == null || b.treeStart()[t] >= visible) {
            return visible;
        }
        int count = b.treeStart()[t];
        for (int j = count; j < visible; j++) {
            if (b.attends(t, j)) {
                rows[count++] = rows[j];
            }
        }
        return count;
    }

    private static float[] scratch(int floats) {
        float[] scores = SCORES.get();
        if (scores.length < floats) {
            scores = new float[Math.max(floats, 2 * scores.length)];
            SCORES.set(scores);
        }
        return scores;
    }

    /** softmax(q·kᵀ/√d)·v for the query heads {@code [g·group, (g+1)·group)} of token {@code t}. */
    private static void attendGroup(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out, int t,
                                    int g, float[] scores) {
        int hd = b.headDim();
        int group = b.heads() / b.kvHeads();
        int keys = attended(b, t, g, layer.kvDim());
        long[] rows = ROWS.get();
        long firstHead = ((long) t * b.heads() + (long) g * group) * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int j = 0; j < keys; j++) {
            for (int h = 0; h < group; h++) {
                scores[h * keys + j] = VectorMath.dot(q, firstHead + (long) h * hd, layer.keys(), rows[j], hd)
                        * scale;
            }
        }
        for (int h = 0; h < group; h++) {
            softmax(scores, h * keys, keys);
        }
        out.asSlice(firstHead * Float.BYTES, (long) group * hd * Float.BYTES).fill((byte) 0);
        for (int j = 0; j < keys; j++) {
            for (int h = 0; h < group; h++) {
                VectorMath.axpy(scores[h * keys + j], layer.values(), rows[j], out, firstHead + (long) h * hd, hd);
            }
        }
    }

    /** In place over {@code x[from, from + len)}; the exponentials are vectorized, as prefill runs one per score. */
    private static void softmax(float[] x, int from, int len) {
        int end = from + len;
        int vectorEnd = from + len - len % F.length();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = from; i < end; i++) {
            max = Math.max(max, x[i]);
        }
        FloatVector sums = FloatVector.zero(F);
        for (int i = from; i < vectorEnd; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, x, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, i);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (int i = vectorEnd; i < end; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        float inverse = 1 / sum;
        for (int i = from; i < end; i++) {
            x[i] *= inverse;
        }
    }
}
