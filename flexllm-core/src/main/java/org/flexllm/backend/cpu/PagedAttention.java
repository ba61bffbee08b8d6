package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;

/**
 * Attention over a paged KV cache. Each token attends to the first {@code visible} positions of its own
 * sequence (causal: its own position and before), reading keys and values block by block through the
 * sequence's block table. One work item is a (token, kv head) pair, so the keys of a GQA group are read once
 * for all its query heads.
 */
final class PagedAttention {
    private PagedAttention() {}

    static void storeKv(MemorySegment k, MemorySegment v, AttentionBatch b, KvLayer layer) {
        int kvDim = layer.kvDim();
        long bytes = (long) kvDim * 4;
        for (int t = 0; t < b.n(); t++) {
            long dst = (long) b.slot()[t] * bytes;
            MemorySegment.copy(k, t * bytes, layer.keys(), dst, bytes);
            MemorySegment.copy(v, t * bytes, layer.values(), dst, bytes);
        }
    }

    static void attention(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out) {
        Parallel.forRange(b.n() * b.kvHeads(), (from, to) -> {
            float[] scores = new float[0];
            for (int item = from; item < to; item++) {
                int t = item / b.kvHeads();
                int visible = b.visible()[t];
                if (scores.length < visible) {
                    scores = new float[Math.max(visible, 2 * scores.length)];
                }
                attendGroup(q, b, layer, out, t, item % b.kvHeads(), scores);
            }
        });
    }

    /** The query heads that share kv head {@code g}, one after the other over the same cached keys. */
    private static void attendGroup(MemorySegment q, AttentionBatch b, KvLayer layer, MemorySegment out,
                                    int t, int g, float[] scores) {
        int hd = b.headDim();
        int group = b.heads() / b.kvHeads();
        long rowOff = (long) t * b.heads() * hd;
        for (int h = g * group; h < (g + 1) * group; h++) {
            long qOff = rowOff + (long) h * hd;
            int visible = b.visible()[t];
            scores(q, qOff, b, layer, t, g, scores);
            softmax(scores, visible);
            weightedValues(scores, b, layer, t, g, out, qOff);
        }
    }

    private static void scores(MemorySegment q, long qOff, AttentionBatch b, KvLayer layer, int t, int g,
                               float[] scores) {
        int hd = b.headDim();
        int seq = b.sequence()[t];
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int j = 0; j < b.visible()[t]; j++) {
            long kOff = (long) b.slotOf(seq, j) * layer.kvDim() + (long) g * hd;
            scores[j] = VectorMath.dot(q, qOff, layer.keys(), kOff, hd) * scale;
        }
    }

    private static void softmax(float[] x, int len) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0;
        for (int i = 0; i < len; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < len; i++) {
            x[i] /= sum;
        }
    }

    private static void weightedValues(float[] p, AttentionBatch b, KvLayer layer, int t, int g,
                                       MemorySegment out, long outOff) {
        int hd = b.headDim();
        int seq = b.sequence()[t];
        out.asSlice(outOff * 4, (long) hd * 4).fill((byte) 0);
        for (int j = 0; j < b.visible()[t]; j++) {
            long vOff = (long) b.slotOf(seq, j) * layer.kvDim() + (long) g * hd;
            VectorMath.axpy(p[j], layer.values(), vOff, out, outOff, hd);
        }
    }
}
