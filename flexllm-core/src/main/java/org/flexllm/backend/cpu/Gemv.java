package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for a few rows of x: memory-bound, so W is streamed once, {@value #ROWS} rows at a time
 * (four independent load streams keep the memory system busy), and each group of rows is applied to every
 * row of x while it is still in L1. The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 4;

    private Gemv() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        int groups = Math.ceilDiv(w.rows(), ROWS);
        Parallel.forRange(groups, (from, to) -> {
            for (int g = from; g < to; g++) {
                group(x, n, w, y, accumulate, g * ROWS);
            }
        });
    }

    /** Rows {@code [o, o + ROWS)} of y's columns; past the last row the last one is read again and not stored. */
    private static void group(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate, int o) {
        int in = w.cols();
        int out = w.rows();
        DType dtype = w.dtype();
        MemorySegment data = w.data();
        long w0 = (long) o * in;
        long w1 = (long) Math.min(o + 1, out - 1) * in;
        long w2 = (long) Math.min(o + 2, out - 1) * in;
        long w3 = (long) Math.min(o + 3, out - 1) * in;
        int vectorEnd = in - in % F.length();
        for (int i = 0; i < n; i++) {
            long xi = (long) i * in;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int k = 0; k < vectorEnd; k += F.length()) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xi + k) * Float.BYTES, LE);
                s0 = Widen.load(dtype, data, w0 + k).fma(xv, s0);
                s1 = Widen.load(dtype, data, w1 + k).fma(xv, s1);
                s2 = Widen.load(dtype, data, w2 + k).fma(xv, s2);
                s3 = Widen.load(dtype, data, w3 + k).fma(xv, s3);
            }
            long yi = (long) i * out + o;
            Matmul.store(y, yi, s0.reduceLanes(VectorOperators.ADD) + tail(x, xi, dtype, data, w0, vectorEnd, in),
                    accumulate);
            if (o + 1 < out) {
                Matmul.store(y, yi + 1, s1.reduceLanes(VectorOperators.ADD)
                        + tail(x, xi, dtype, data, w1, vectorEnd, in), accumulate);
            }
            if (o + 2 < out) {
                Matmul.store(y, yi + 2, s2.reduceLanes(VectorOperators.ADD)
                        + tail(x, xi, dtype, data, w2, vectorEnd, in), accumulate);
            }
            if (o + 3 < out) {
                Matmul.store(y, yi + 3, s3.reduceLanes(VectorOperators.ADD)
                        + tail(x, xi, dtype, data, w3, vectorEnd, in), accumulate);
            }
        }
    }

    /** The dot product over the columns {@code [from, in)} that do not fill a vector. */
    private static float tail(MemorySegment x, long xi, DType dtype, MemorySegment data, long wRow, int from, int in) {
        float sum = 0;
        for (int k = from; k < in; k++) {
            sum += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * DTypes.read(dtype, data, wRow + k);
        }
        return sum;
    }
}
