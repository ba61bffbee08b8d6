package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for a few rows of x: bound by the memory bandwidth of streaming W, so each weight row is
 * read from memory once. {@value #ROWS} rows at a time are widened to f32 into L1-resident scratch and
 * then applied to every row of x, so the conversion is paid once and the dot products run on plain f32.
 * The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 4;

    private Gemv() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        Parallel.forRange(Math.ceilDiv(w.rows(), ROWS), (from, to) -> {
            Scratch scratch = Scratch.get();
            float[] rows = scratch.weights(ROWS * w.cols());
            for (int g = from; g < to; g++) {
                group(x, n, w, y, accumulate, g * ROWS, rows);
            }
        });
    }

    /** Columns {@code [o, o + ROWS)} of y; past the last weight row the last one is read again and not stored. */
    private static void group(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate, int o,
            float[] rows) {
        int in = w.cols();
        int out = w.rows();
        for (int r = 0; r < ROWS; r++) {
            Widen.widen(w.dtype(), w.data(), (long) Math.min(o + r, out - 1) * in, rows, r * in, in);
        }
        int vectorEnd = in - in % F.length();
        for (int i = 0; i < n; i++) {
            long xi = (long) i * in;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int k = 0; k < vectorEnd; k += F.length()) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xi + k) * Float.BYTES, LE);
                s0 = FloatVector.fromArray(F, rows, k).fma(xv, s0);
                s1 = FloatVector.fromArray(F, rows, in + k).fma(xv, s1);
                s2 = FloatVector.fromArray(F, rows, 2 * in + k).fma(xv, s2);
                s3 = FloatVector.fromArray(F, rows, 3 * in + k).fma(xv, s3);
            }
            long yi = (long) i * out + o;
            store(y, yi, s0, x, xi, rows, 0, vectorEnd, in, accumulate);
            if (o + 1 < out) {
                store(y, yi + 1, s1, x, xi, rows, in, vectorEnd, in, accumulate);
            }
            if (o + 2 < out) {
                store(y, yi + 2, s2, x, xi, rows, 2 * in, vectorEnd, in, accumulate);
            }
            if (o + 3 < out) {
                store(y, yi + 3, s3, x, xi, rows, 3 * in, vectorEnd, in, accumulate);
            }
        }
    }

    /** Finishes one dot product (lanes, then the columns past the last full vector) and stores it. */
    private static void store(MemorySegment y, long yi, FloatVector sum, MemorySegment x, long xi, float[] rows,
            int row, int vectorEnd, int in, boolean accumulate) {
        float dot = sum.reduceLanes(VectorOperators.ADD);
        for (int k = vectorEnd; k < in; k++) {
            dot += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * rows[row + k];
        }
        Matmul.store(y, yi, dot, accumulate);
    }
}
