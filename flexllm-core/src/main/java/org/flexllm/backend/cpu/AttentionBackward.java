package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;

/**
 * The gradient of {@link PagedAttention#attention} for one whole sequence (token t at position t, attending to
 * positions {@code [0, t]}), with the softmax recomputed from q and the cached keys rather than kept:
 * <pre>
 *   P = softmax(q·kᵀ/√d)    dV += Pᵀ·dO    dP = dO·vᵀ    dS = P ⊙ (dP − rowsum(P ⊙ dP))
 *   dq = dS·k/√d             dK += dSᵀ·q/√d
 * </pre>
 * One work item is a kv head with its GQA group of query heads: it alone writes their dq and the head's dK and dV,
 * so the items need no synchronization, and each cached key and value is read once per token for the whole group.
 */
final class AttentionBackward {
    private AttentionBackward() {}

    /** Writes dq {@code [n, heads·headDim]} and dKeys, dValues {@code [n, kvHeads·headDim]} (row = position). */
    static void backward(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, MemorySegment dq,
                         MemorySegment dKeys, MemorySegment dValues) {
        long bytes = (long) b.n() * layer.kvDim() * Float.BYTES;
        dKeys.asSlice(0, bytes).fill((byte) 0);
        dValues.asSlice(0, bytes).fill((byte) 0);
        Parallel.forRange(b.kvHeads(), (from, to) -> {
            for (int g = from; g < to; g++) {
                new KvHead(q, dOut, b, layer, dq, dKeys, dValues, g).run();
            }
        });
    }

    /** The work of kv head {@code g}. */
    private record KvHead(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, MemorySegment dq,
                          MemorySegment dKeys, MemorySegment dValues, int g) {

        void run() {
            int group = b.heads() / b.kvHeads();
            long[] rows = PagedAttention.rows(b, b.blockTables()[0], b.n(), g, layer.kvDim());
            float[] scratch = PagedAttention.scratch(2 * group * b.n());
            for (int t = 0; t < b.n(); t++) {
                token(t, group, rows, scratch);
            }
        }

        /**
         * Token t's share: its group's P in {@code scratch[h·visible + j]}, then dP turned into dS in place at
         * {@code scratch[(group + h)·visible + j]}, then the sums over its visible positions j.
         */
        private void token(int t, int group, long[] rows, float[] scratch) {
            int hd = b.headDim();
            int visible = t + 1;
            int ds = group * visible;
            long firstHead = ((long) t * b.heads() + (long) g * group) * hd;
            float scale = (float) (1.0 / Math.sqrt(hd));
            for (int j = 0; j < visible; j++) {
                for (int h = 0; h < group; h++) {
                    long qh = firstHead + (long) h * hd;
                    scratch[h * visible + j] = VectorMath.dot(q, qh, layer.keys(), rows[j], hd) * scale;
                    scratch[ds + h * visible + j] = VectorMath.dot(dOut, qh, layer.values(), rows[j], hd);
                }
            }
            for (int h = 0; h < group; h++) {
                PagedAttention.softmax(scratch, h * visible, visible);
                softmaxGradient(scratch, h * visible, ds + h * visible, visible);
            }
            dq.asSlice(firstHead * Float.BYTES, (long) group * hd * Float.BYTES).fill((byte) 0);
            for (int j = 0; j < visible; j++) {
                long kv = (long) j * layer.kvDim() + (long) g * hd;
                for (int h = 0; h < group; h++) {
                    long qh = firstHead + (long) h * hd;
                    float dS = scale * scratch[ds + h * visible + j];
                    VectorMath.axpy(dS, layer.keys(), rows[j], dq, qh, hd);
                    VectorMath.axpy(dS, q, qh, dKeys, kv, hd);
                    VectorMath.axpy(scratch[h * visible + j], dOut, qh, dValues, kv, hd);
                }
            }
        }
    }

    /** {@code s[d + i] = s[p + i]·(s[d + i] − Σ s[p + i]·s[d + i])} for {@code i < len}: dP to dS through softmax. */
    private static void softmaxGradient(float[] s, int p, int d, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector sums = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            sums = FloatVector.fromArray(F, s, p + i).fma(FloatVector.fromArray(F, s, d + i), sums);
        }
        float dot = sums.reduceLanes(VectorOperators.ADD);
        for (int i = vectorEnd; i < len; i++) {
            dot += s[p + i] * s[d + i];
        }
        for (int i = 0; i < vectorEnd; i += F.length()) {
            FloatVector.fromArray(F, s, p + i).mul(FloatVector.fromArray(F, s, d + i).sub(dot)).intoArray(s, d + i);
        }
        for (int i = vectorEnd; i < len; i++) {
            s[d + i] = s[p + i] * (s[d + i] - dot);
        }
    }
}
