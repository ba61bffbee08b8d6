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
 * The gradient of {@link PagedAttention#attention} for a run of one sequence's queries (token t at position t,
 * attending to positions {@code [0, t]}; the run is the whole sequence or a chunk of its rows, which a backward
 * slice smaller than a layer takes last chunk first), as matrix products on the GEMM kernels. For a query head, with K and V its kv head's
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
 * writes its own, and a last pass adds them per group into the caller's key and value gradients, which gather the
 * contributions of every chunk.
 */
final class AttentionBackward {
    static final int QUERY_BLOCK = 256;

    private AttentionBackward() {}

    /**
     * Writes dq {@code [n, heads·headDim]} of the batch's n queries, positions {@code [first, first + n)}, and adds
     * their contributions into dKeys, dValues rows {@code [0, first + n)} ({@code [·, kvHeads·headDim]}, row =
     * position).
     */
    static void backward(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, MemorySegment dq,
                         MemorySegment dKeys, MemorySegment dValues) {
        int first = b.visible()[0] - 1;
        int keys = first + b.n();
        long perHead = (long) keys * b.headDim();
        MemorySegment partials = Scratch.get().partials(2 * b.heads() * perHead);
        Parallel.forRange(b.heads(), (from, to) -> {
            Workspace w = Workspace.of(first, b.n(), b.headDim());
            for (int head = from; head < to; head++) {
                MemorySegment dK = partials.asSlice(head * perHead * Float.BYTES, perHead * Float.BYTES);
                MemorySegment dV = partials.asSlice((b.heads() + head) * perHead * Float.BYTES, perHead * Float.BYTES);
                head(q, dOut, b, layer, head, w, dq, dK, dV);
            }
        });
        Parallel.forRange(keys, (from, to) -> {
            for (int t = from; t < to; t++) {
                addGroups(partials, b, keys, layer.kvDim(), t, dKeys, 0);
                addGroups(partials, b, keys, layer.kvDim(), t, dValues, b.heads());
            }
        });
    }

    /** Query head {@code head}: its columns of dq, and its own dK and dV. */
    private static void head(MemorySegment q, MemorySegment dOut, AttentionBatch b, KvLayer layer, int head,
                             Workspace w, MemorySegment dq, MemorySegment dK, MemorySegment dV) {
        int hd = b.headDim();
        int qDim = b.heads() * hd;
        int g = head / (b.heads() / b.kvHeads());
        long[] rows = PagedAttention.rows(b, b.blockTables()[0], w.keys(), g, layer.kvDim());
        gather(layer.keys(), rows, w.keyRows(), hd);
        gather(layer.values(), rows, w.valueRows(), hd);
        copyColumns(q, qDim, head * hd, w.q(), hd, 0, hd, b.n());
        copyColumns(dOut, qDim, head * hd, w.dOut(), hd, 0, hd, b.n());
        dK.fill((byte) 0);
        dV.fill((byte) 0);
        for (int r0 = 0; r0 < b.n(); r0 += QUERY_BLOCK) {
            queryBlock(w, r0, Math.min(QUERY_BLOCK, b.n() - r0), dK, dV);
        }
        copyColumns(w.dq(), hd, 0, dq, qDim, head * hd, hd, b.n());
    }

    /** Queries {@code [r0, r0 + count)} against the keys they see, {@code [0, first + r0 + count)}. */
    private static void queryBlock(Workspace w, int r0, int count, MemorySegment dK, MemorySegment dV) {
        int keys = w.first() + r0 + count;
        MemorySegment p = w.p().asSlice(0, (long) count * keys * Float.BYTES);
        MemorySegment dS = w.dS().asSlice(0, (long) count * keys * Float.BYTES);
        MemorySegment q = w.rows(w.q(), r0, count);
        MemorySegment dOut = w.rows(w.dOut(), r0, count);
        Matmul.matmul(q, count, w.keysMatrix(keys), p, false);
        Matmul.matmul(dOut, count, w.valuesMatrix(keys), dS, false);
        float scale = (float) (1 / Math.sqrt(w.headDim()));
        for (int i = 0; i < count; i++) {
            softmaxRow(p, dS, (long) i * keys, w.first() + r0 + i + 1, keys, scale);
        }
        Matmul.transposed(dS, count, w.keysMatrix(keys), w.rows(w.dq(), r0, count), false);
        Matmul.weightGradient(dS, q, count, keys, w.headDim(), w.rows(dK, 0, keys));
        Matmul.weightGradient(p, dOut, count, keys, w.headDim(), w.rows(dV, 0, keys));
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
     * Adds into row t of kv head g's gradient, for every g, the per-head rows of its group's query heads, from the
     * per-head gradients ({@code keys} rows each) that start at head {@code first} in {@code partials}.
     */
    private static void addGroups(MemorySegment partials, AttentionBatch b, int keys, int kvDim, int t,
                                  MemorySegment dst, int first) {
        int hd = b.headDim();
        int group = b.heads() / b.kvHeads();
        long perHead = (long) keys * hd;
        for (int g = 0; g < b.kvHeads(); g++) {
            long to = (long) t * kvDim + (long) g * hd;
            long from = (first + (long) g * group) * perHead + (long) t * hd;
            for (int h = 0; h < group; h++) {
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
     * One head's matrices, carved from the thread's scratch, for n queries from position {@code first}: the keys and
     * values they see ({@code [first + n, headDim]} each), three {@code [n, headDim]} (q, dOut, dq) and two
     * {@code [QUERY_BLOCK, first + n]} (P, dS).
     */
    private record Workspace(int first, int n, int headDim, MemorySegment keyRows, MemorySegment valueRows,
                             MemorySegment q, MemorySegment dOut, MemorySegment dq, MemorySegment p,
                             MemorySegment dS) {

        static Workspace of(int first, int n, int headDim) {
            long seen = (long) (first + n) * headDim * Float.BYTES;
            long narrow = (long) n * headDim * Float.BYTES;
            long block = (long) Math.min(n, QUERY_BLOCK) * (first + n) * Float.BYTES;
            MemorySegment all = Scratch.get().workspace((2 * seen + 3 * narrow + 2 * block) / Float.BYTES);
            long at = 2 * seen + 3 * narrow;
            return new Workspace(first, n, headDim, all.asSlice(0, seen), all.asSlice(seen, seen),
                    all.asSlice(2 * seen, narrow), all.asSlice(2 * seen + narrow, narrow),
                    all.asSlice(2 * seen + 2 * narrow, narrow), all.asSlice(at, block), all.asSlice(at + block, block));
        }

        /** How many keys the queries see: positions {@code [0, first + n)}. */
        int keys() {
            return first + n;
        }

        /** Rows {@code [r0, r0 + count)} of a {@code [·, headDim]} matrix. */
        MemorySegment rows(MemorySegment matrix, int r0, int count) {
            return matrix.asSlice((long) r0 * headDim * Float.BYTES, (long) count * headDim * Float.BYTES);
        }

        Tensor keysMatrix(int count) {
            return new Tensor("keys", DType.F32, Shape.of(count, headDim), rows(keyRows, 0, count));
        }

        Tensor valuesMatrix(int count) {
            return new Tensor("values", DType.F32, Shape.of(count, headDim), rows(valueRows, 0, count));
        }
    }
}
