package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * {@code y = x·Wᵀ} and its gradients: the Linear layers, which decide the engine's speed. A few rows of x
 * (decode) are bound by the memory bandwidth of streaming W, so {@link Gemv} reads each weight row once for
 * all of them; more rows are bound by arithmetic, so {@link Gemm} reuses each weight element across many rows
 * from registers. The gradients are products of the other shape, {@code A·B} with B read by rows, which
 * {@link BackwardGemm} computes for any number of rows.
 *
 * <p>The work is split across the {@link Parallel} pool, so every segment must be accessible from other
 * threads (memory-mapped weights and global, automatic or shared arenas are; confined ones are not).
 */
public final class Matmul {
    /**
     * Up to this many rows of x, streaming W once beats packing x into GEMM panels: a panel costs the same for 1
     * to {@link MicroKernel#PANEL} rows, while the GEMV adds about a twelfth of its one-row time per row (measured
     * on AVX-512, whose panel is 32 rows: 16 there, 8 on AVX2, 4 on NEON).
     */
    static final int GEMV_MAX_ROWS = MicroKernel.PANEL / 2;

    private Matmul() {}

    /**
     * {@code y[n, out] = x[n, in] · Wᵀ}, or {@code y += x · Wᵀ} when {@code accumulate}.
     *
     * @param x          {@code n × in} f32, row-major, contiguous from offset 0
     * @param n          rows of x and y
     * @param w          the weight {@code [out, in]} stored as F32, F16 or BF16; widened to f32 as it is read
     * @param y          {@code n × out} f32, row-major, contiguous from offset 0; must not overlap x
     * @param accumulate add to y instead of overwriting it
     * @throws IllegalArgumentException when w is not a matrix or x or y is too small for the shapes
     */
    public static void matmul(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        check(x, n, w, y);
        if (n == 0) {
            return;
        }
        if (n <= GEMV_MAX_ROWS) {
            Gemv.multiply(x, n, w, y, accumulate);
        } else {
            Gemm.multiply(x, n, w, y, accumulate);
        }
    }

    /**
     * {@code dx[n, in] = dy[n, out] · W}, or {@code dx += dy · W} when {@code accumulate}: the gradient through
     * the Linear with respect to its input.
     *
     * @param dy         {@code n × out} f32, row-major, contiguous from offset 0
     * @param w          the weight {@code [out, in]} stored as F32, F16 or BF16; widened to f32 as it is read
     * @param dx         {@code n × in} f32, row-major, contiguous from offset 0; must not overlap dy
     * @throws IllegalArgumentException when w is not a matrix or dy or dx is too small for the shapes
     */
    public static void transposed(MemorySegment dy, int n, Tensor w, MemorySegment dx, boolean accumulate) {
        check(n, w);
        requireFloats("dy", dy, (long) n * w.rows(), n, w);
        requireFloats("dx", dx, (long) n * w.cols(), n, w);
        BackwardGemm.multiply(
                new BackwardGemm.Product(dy, false, w.dtype(), w.data(), n, w.rows(), w.cols(), dx, false), accumulate);
    }

    /**
     * {@code dW[out, in] += dy[n, out]ᵀ · x[n, in]}: a weight's gradient, all f32 and row-major from offset 0.
     *
     * @throws IllegalArgumentException when a count is negative or an operand is too small for the shapes
     */
    public static void weightGradient(MemorySegment dy, MemorySegment x, int n, int out, int in, MemorySegment dW) {
        if (n < 0 || out < 0 || in < 0) {
            throw new IllegalArgumentException("negative size in a weight gradient: n=" + n + " out=" + out
                    + " in=" + in);
        }
        requireFloats("dy", dy, n, out);
        requireFloats("x", x, n, in);
        requireFloats("dW", dW, out, in);
        // The transposed operand is packed an element at a time, so it is the narrow one: dWᵀ = xᵀ·dy when in < out.
        BackwardGemm.multiply(out <= in
                ? new BackwardGemm.Product(dy, true, DType.F32, x, out, n, in, dW, false)
                : new BackwardGemm.Product(x, true, DType.F32, dy, in, n, out, dW, true), true);
    }

    /** Writes or adds one element of y. */
    static void store(MemorySegment y, long index, float value, boolean accumulate) {
        float previous = accumulate ? y.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index) : 0f;
        y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index, previous + value);
    }

    private static void check(MemorySegment x, int n, Tensor w, MemorySegment y) {
        check(n, w);
        requireFloats("x", x, (long) n * w.cols(), n, w);
        requireFloats("y", y, (long) n * w.rows(), n, w);
    }

    private static void check(int n, Tensor w) {
        if (w.shape().rank() != 2) {
            throw new IllegalArgumentException("weight '" + w.name() + "' must be a matrix [out, in], is " + w.shape());
        }
        if (n < 0) {
            throw new IllegalArgumentException("negative row count " + n + " for weight '" + w.name() + "'");
        }
    }

    // The checks build their messages only when they fail: they run on every call of a kernel, in the
    // iteration loop, which must not allocate.

    private static void requireFloats(String what, MemorySegment s, long floats, int n, Tensor w) {
        if (tooSmall(s, floats)) {
            throw tooSmall(what, s, floats, n + " rows against weight '" + w.name() + "' " + w.shape());
        }
    }

    /** {@code s} holds a {@code [rows, cols]} matrix. */
    private static void requireFloats(String what, MemorySegment s, int rows, int cols) {
        long floats = (long) rows * cols;
        if (tooSmall(s, floats)) {
            throw tooSmall(what, s, floats, "[" + rows + ", " + cols + "]");
        }
    }

    private static boolean tooSmall(MemorySegment s, long floats) {
        return s.byteSize() < floats * Float.BYTES;
    }

    private static IllegalArgumentException tooSmall(String what, MemorySegment s, long floats, String shape) {
        return new IllegalArgumentException(what + " has " + s.byteSize() / Float.BYTES + " floats but " + shape
                + " need " + floats);
    }
}
