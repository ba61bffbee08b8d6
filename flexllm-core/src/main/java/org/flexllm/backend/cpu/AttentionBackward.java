package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * The gradient of {@link PagedAttention#attention} for one whole sequence (token t at position t, attending to
 * positions {@code [0, t]}), as matrix products on the GEMM kernels. For a query head, with K and V its kv head's
 * keys and values gathered from the paged cache and Q, dO its columns of q and dOut:
 * <pre>
 *   P = softmax(Q·Kᵀ/√d), causal    dP = dO·Vᵀ    dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √d
 *   dQ = dS·K    dK += dSᵀ·Q    dV += Pᵀ·dO
 * </pre>
 * The softmax is recomputed rather than kept. The queries go in blocks of {@value #QUERY_BLOCK}, each against the
 * keys it can see, which bounds P and dS and skips most of the masked half of the square (the rest is zeros, computed
 * anyway). GEMMs beat vector loops per key many times over: those end every dot product in a horizontal sum.
 *
 * <p>The cores split the query heads, each head's products running whole on one core (small sequences would
 * otherwise spend their time starting GEMMs). Heads of one GQA group share their kv head's gradients, so each head
 * writes its own, and a last pass sums them per group.
 */
final class AttentionBackward {
    static final int QUERY_BLOCK = 256;

    private AttentionBackward() {}

    /** Writes dq {@code [n, heads·headDim]} and dKeys, dValues {@code [n, kvHeads·headDim]} (row = position). */
    static void backward(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, MemorySegment dq,
                         MemorySegment dKeys, MemorySegment dValues) {
        long perHead = (long) b.n() * b.headDim();
        MemorySegment partials = Scratch.get().partials(2 * b.heads() * perHead);
        Parallel.forRange(b.heads(), (from, to) -> {
            Workspace w = Workspace.of(b.n(), b.headDim());
            for (int head = from; head < to; head++) {
                MemorySegment dK = partials.asSlice(head * perHead * Float.BYTES, perHead * Float.BYTES);
                MemorySegment dV = partials.asSlice((b.heads() + head) * perHead * Float.BYTES, perHead * Float.BYTES);
                head(q, dOut, b, layer, head, w, dq, dK, dV);
            }
        });
        Parallel.forRange(b.n(), (from, to) -> {
            for (int t = from; t < to; t++) {
                sumGroups(partials, b, layer.kvDim(), t, dKeys, 0);
                sumGroups(partials, b, layer.kvDim(), t, dValues, b.heads());
            }
        });
    }

    /** Query head {@code head}: its columns of dq, and its own dK and dV. */
    private static void head(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, int head,
                             Workspace w, MemorySegment dq, MemorySegment dK, MemorySegment dV) {
        int hd = b.headDim();
        int qDim = b.heads() * hd;
        int g = head / (b.heads() / b.kvHeads());
        long[] rows = PagedAttention.rows(b, b.blockTables()[0], b.n(), g, layer.kvDim());
        gather(layer.keys(), rows, w.keys(), hd);
        gather(layer.values(), rows, w.values(), hd);
        copyColumns(q, qDim, head * hd, w.q(), hd, 0, hd, b.n());
        copyColumns(dOut, qDim, head * hd, w.dOut(), hd, 0, hd, b.n());
        dK.fill((byte) 0);
        dV.fill((byte) 0);
        for (int r0 = 0; r0 < b.n(); r0 += QUERY_BLOCK) {
            queryBlock(w, r0, Math.min(QUERY_BLOCK, b.n() - r0), dK, dV);
        }
        copyColumns(w.dq(), hd, 0, dq, qDim, head * hd, hd, b.n());
    }

    /** Queries {@code [r0, r0 + count)} against keys {@code [0, r0 + count)}. */
    private static void queryBlock(Workspace w, int r0, int count, MemorySegment dK, MemorySegment dV) {
        int keys = r0 + count;
        MemorySegment p = w.p().asSlice(0, (long) count * keys * Float.BYTES);
        MemorySegment dS = w.dS().asSlice(0, (long) count * keys * Float.BYTES);
        MemorySegment q = w.rows(w.q(), r0, count);
        MemorySegment dOut = w.rows(w.dOut(), r0, count);
        Matmul.matmul(q, count, w.keysMatrix(keys), p, false);
        Matmul.matmul(dOut, count, w.valuesMatrix(keys), dS, false);
        float scale = (float) (1 / Math.sqrt(w.headDim()));
        for (int i = 0; i < count; i++) {
            softmaxRow(p, dS, (long) i * keys, r0 + i + 1, keys, scale);
        }
        Matmul.transposed(dS, count, w.keysMatrix(keys), w.rows(w.dq(), r0, count), false);
        Matmul.weightGradient(dS, q, count, keys, w.headDim(), dK);
        Matmul.weightGradient(p, dOut, count, keys, w.headDim(), dV);
    }

    /**
     * The row at {@code row} ({@code width} floats) of the scores {@code s} and of dP (in {@code d}) becomes a row of
     * P and of dS: the softmax of the scaled scores over the first {@code visible}, then
     * {@code dS = scale·P ⊙ (dP − P·dP)}; zeros past {@code visible} in both.
     */
    private static void softmaxRow(MemorySegment s, MemorySegment d, long row, int visible, int width, float scale) {
        VectorMath.scale(s, row, visible, scale);
        VectorMath.softmax(s, row, visible);
        float rowDot = VectorMath.dot(s, row, d, row, visible);
        int vectorEnd = visible - visible % F.length();
        for (int j = 0; j < vectorEnd; j += F.length()) {
            FloatVector p = VectorMath.load(s, row + j);
            p.mul(scale).mul(VectorMath.load(d, row + j).sub(rowDot))
                    .intoMemorySegment(d, (row + j) * Float.BYTES, LE);
        }
        for (int j = vectorEnd; j < visible; j++) {
            VectorMath.set(d, row + j, VectorMath.get(s, row + j) * scale * (VectorMath.get(d, row + j) - rowDot));
        }
        VectorMath.zero(s, row + visible, width - visible);
        VectorMath.zero(d, row + visible, width - visible);
    }

    /**
     * Row t of kv head g's gradient, for every g: the sum of the per-head rows of its group's query heads, from the
     * per-head gradients that start at head {@code first} in {@code partials}.
     */
    private static void sumGroups(MemorySegment partials, AttentionBatch b, int kvDim, int t, MemorySegment dst,
                                  int first) {
        int hd = b.headDim();
        int group = b.heads() / b.kvHeads();
        long perHead = (long) b.n() * hd;
        for (int g = 0; g < b.kvHeads(); g++) {
            long to = (long) t * kvDim + (long) g * hd;
            long from = (first + (long) g * group) * perHead + (long) t * hd;
            MemorySegment.copy(partials, from * Float.BYTES, dst, to * Float.BYTES, (long) hd * Float.BYTES);
            for (int h = 1; h < group; h++) {
                VectorMath.axpy(1f, partials, from + h * perHead, dst, to, hd);
            }
        }
    }

    /** The cache rows at {@code rows} ({@code width} floats each) one after the other into {@code dst}. */
    private static void gather(MemorySegment cache, long[] rows, MemorySegment dst, int width) {
        long bytes = (long) width * Float.BYTES;
        for (int j = 0; j < dst.byteSize() / bytes; j++) {
            MemorySegment.copy(cache, rows[j] * Float.BYTES, dst, j * bytes, bytes);
        }
    }

    /** Columns {@code [srcCol, srcCol + cols)} of n rows of {@code src} to columns from {@code dstCol} of dst. */
    private static void copyColumns(MemorySegment src, int srcWidth, int srcCol, MemorySegment dst, int dstWidth,
                                    int dstCol, int cols, int n) {
        for (int t = 0; t < n; t++) {
            MemorySegment.copy(src, ((long) t * srcWidth + srcCol) * Float.BYTES, dst,
                    ((long) t * dstWidth + dstCol) * Float.BYTES, (long) cols * Float.BYTES);
        }
    }

    /**
     * One head's matrices, carved from the thread's scratch: five {@code [n, headDim]} and two
     * {@code [QUERY_BLOCK, n]}.
     */
    private record Workspace(int n, int headDim, MemorySegment keys, MemorySegment values, MemorySegment q,
                             MemorySegment dOut, MemorySegment dq, MemorySegment p, MemorySegment dS) {

        static Workspace of(int n, int headDim) {
            long narrow = (long) n * headDim * Float.BYTES;
            long block = (long) Math.min(n, QUERY_BLOCK) * n * Float.BYTES;
            MemorySegment all = Scratch.get().workspace((5 * narrow + 2 * block) / Float.BYTES);
            return new Workspace(n, headDim, all.asSlice(0, narrow), all.asSlice(narrow, narrow),
                    all.asSlice(2 * narrow, narrow), all.asSlice(3 * narrow, narrow), all.asSlice(4 * narrow, narrow),
                    all.asSlice(5 * narrow, block), all.asSlice(5 * narrow + block, block));
        }

        /** Rows {@code [r0, r0 + count)} of an {@code [n, headDim]} matrix. */
        MemorySegment rows(MemorySegment matrix, int r0, int count) {
            return matrix.asSlice((long) r0 * headDim * Float.BYTES, (long) count * headDim * Float.BYTES);
        }

        Tensor keysMatrix(int count) {
            return new Tensor("keys", DType.F32, Shape.of(count, headDim), rows(keys, 0, count));
        }

        Tensor valuesMatrix(int count) {
            return new Tensor("values", DType.F32, Shape.of(count, headDim), rows(values, 0, count));
        }
    }
}
