package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;

/**
 * Attention as a blocked kernel: a work item is a tile of up to {@value #TILE} consecutive tokens of one sequence
 * and one kv head, so every query head of the GQA group of every token in the tile, {@code rows} queries in all.
 * Keys are read one block of {@code F.length()} positions at a time, transposed so that {@code q·kᵀ} for the whole
 * block is a vector per query ({@code headDim} FMAs of a broadcast query element, no horizontal sums), and the
 * softmax is online (FlashAttention's running max and sum): each key and value row is read once per tile, not once
 * per query. A position a token must not see (past its own, or a tree position that is not its ancestor) scores
 * minus infinity.
 */
final class BlockedAttention {
    /** Tokens per tile: prefill tiles reuse each key and value row this many times (times the GQA group). */
    static final int TILE = 8;
    private static final int KB = F.length();
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private BlockedAttention() {}

    /** Per worker thread, grown to the largest tile seen. */
    private static final class Scratch {
        float[] keys = new float[0];
        float[] scores = new float[0];
        float[] acc = new float[0];
        float[] max = new float[0];
        float[] sum = new float[0];
        int[] tokenStarts = new int[0];

        void fit(int rows, int headDim) {
            if (keys.length < headDim * KB) {
                keys = new float[headDim * KB];
            }
            if (acc.length < rows * headDim) {
                acc = new float[rows * headDim];
            }
            if (max.length < rows) {
                scores = new float[rows * KB];
                max = new float[rows];
                sum = new float[rows];
            }
        }
    }

    static void attention(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out) {
        int tiles = tileStarts(b);
        int[] tileStart = SCRATCH.get().tokenStarts;
        Parallel.forRange(tiles * b.kvHeads(), (from, to) -> {
            for (int item = from; item < to; item++) {
                int tile = item / b.kvHeads();
                attendTile(q, b, layer, out, tileStart[tile], tileStart[tile + 1], item % b.kvHeads());
            }
        });
    }

    /**
     * Writes where each tile starts, then {@code n}, into this thread's {@code tokenStarts}: runs of up to TILE
     * tokens of one sequence. Returns the number of tiles.
     */
    private static int tileStarts(AttentionBatch b) {
        int[] starts = SCRATCH.get().tokenStarts;
        if (starts.length < b.n() + 1) {
            starts = new int[b.n() + 1];
            SCRATCH.get().tokenStarts = starts;
        }
        int count = 0;
        for (int t = 0; t < b.n(); t++) {
            if (t == 0 || t - starts[count - 1] == TILE || b.sequence()[t] != b.sequence()[t - 1]) {
                starts[count++] = t;
            }
        }
        starts[count] = b.n();
        return count;
    }

    /** softmax(q·kᵀ/√d)·v for tokens {@code [first, end)} of one sequence and the query heads of kv head g. */
    private static void attendTile(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out, int first,
                                   int end, int g) {
        int hd = b.headDim();
        int group = b.heads() / b.kvHeads();
        int rows = (end - first) * group;
        Scratch s = SCRATCH.get();
        s.fit(rows, hd);
        Arrays.fill(s.acc, 0, rows * hd, 0f);
        Arrays.fill(s.max, 0, rows, Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum, 0, rows, 0f);
        int keys = 0;
        for (int t = first; t < end; t++) {
            keys = Math.max(keys, b.visible()[t]);
        }
        long[] offsets = PagedAttention.rows(b, b.blockTables()[b.sequence()[first]], keys, g, layer.kvDim());
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int j0 = 0; j0 < keys; j0 += KB) {
            int block = Math.min(KB, keys - j0);
            transposeKeys(layer.keys(), offsets, j0, block, hd, s.keys);
            for (int t = first; t < end; t++) {
                for (int h = 0; h < group; h++) {
                    int row = (t - first) * group + h;
                    long query = ((long) t * b.heads() + (long) g * group + h) * hd;
                    score(q, query, s.keys, hd, scale, s.scores, row * KB);
                    mask(b, t, j0, block, s.scores, row * KB);
                    accumulate(s, row, hd, layer.values(), offsets, j0, block);
                }
            }
        }
        for (int t = first; t < end; t++) {
            for (int h = 0; h < group; h++) {
                int row = (t - first) * group + h;
                long dst = ((long) t * b.heads() + (long) g * group + h) * hd;
                float inverse = 1 / s.sum[row];
                for (int d = 0; d < hd; d++) {
                    VectorMath.set(out, dst + d, s.acc[row * hd + d] * inverse);
                }
            }
        }
    }

    /** {@code keysT[d·KB + j] = key[j0 + j][d]}: the block's keys as columns; zeros past the block. */
    private static void transposeKeys(MemorySegment keys, long[] offsets, int j0, int block, int hd, float[] keysT) {
        if (block < KB) {
            Arrays.fill(keysT, 0, hd * KB, 0f);
        }
        for (int j = 0; j < block; j++) {
            long at = offsets[j0 + j];
            for (int d = 0; d < hd; d++) {
                keysT[d * KB + j] = VectorMath.get(keys, at + d);
            }
        }
    }

    /** {@code scores[at + j] = q·k_j · scale} for the block's KB keys, one vector FMA per head dimension. */
    private static void score(MemorySegment q, long query, float[] keysT, int hd, float scale, float[] scores,
                              int at) {
        FloatVector acc = FloatVector.zero(F);
        for (int d = 0; d < hd; d++) {
            acc = VectorMath.fma(FloatVector.fromArray(F, keysT, d * KB),
                    FloatVector.broadcast(F, VectorMath.get(q, query + d)), acc);
        }
        acc.mul(scale).intoArray(scores, at);
    }

    /** Minus infinity for the positions of the block that token t does not see. */
    private static void mask(AttentionBatch b, int t, int j0, int block, float[] scores, int at) {
        int visible = b.visible()[t];
        for (int j = 0; j < KB; j++) {
            int position = j0 + j;
            if (j >= block || position >= visible || !b.attends(t, position)) {
                scores[at + j] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Folds the block's scores of one query row into its running max, sum and weighted values: the earlier blocks'
     * sum and values rescaled by {@code exp(oldMax − newMax)}.
     */
    private static void accumulate(Scratch s, int row, int hd, MemorySegment values, long[] offsets, int j0,
                                   int block) {
        FloatVector scores = FloatVector.fromArray(F, s.scores, row * KB);
        float blockMax = scores.reduceLanes(VectorOperators.MAX);
        if (blockMax == Float.NEGATIVE_INFINITY) {
            return;
        }
        float newMax = Math.max(s.max[row], blockMax);
        float rescale = Exp.exp(s.max[row] - newMax);
        FloatVector p = Exp.exp(scores.sub(newMax));
        p.intoArray(s.scores, row * KB);
        s.sum[row] = s.sum[row] * rescale + VectorMath.sumLanes(p);
        s.max[row] = newMax;
        int acc = row * hd;
        if (rescale != 1f) {
            for (int d = 0; d < hd; d++) {
                s.acc[acc + d] *= rescale;
            }
        }
        for (int j = 0; j < block; j++) {
            float weight = s.scores[row * KB + j];
            if (weight != 0f) {
                axpy(weight, values, offsets[j0 + j], s.acc, acc, hd);
            }
        }
    }

    /** {@code acc[at + d] += weight · value[d]}. */
    private static void axpy(float weight, MemorySegment values, long value, float[] acc, int at, int hd) {
        int vectorEnd = hd - hd % F.length();
        FloatVector w = FloatVector.broadcast(F, weight);
        for (int d = 0; d < vectorEnd; d += F.length()) {
            VectorMath.fma(VectorMath.load(values, value + d), w, FloatVector.fromArray(F, acc, at + d))
                    .intoArray(acc, at + d);
        }
        for (int d = vectorEnd; d < hd; d++) {
            acc[at + d] += weight * VectorMath.get(values, value + d);
        }
    }
}
