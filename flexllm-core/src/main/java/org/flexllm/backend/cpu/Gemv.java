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
 * {@link Matmul} for a few rows of x: bound by the memory bandwidth of streaming W, so each weight row is
 * read from memory once, {@value #ROWS} rows at a time (four concurrent streams keep enough loads in
 * flight to saturate memory), and applied to every row of x while it is still in L1. F32 and BF16 rows
 * are widened in registers as they stream; F16 has no cheap vector widening in registers (see
 * {@link Widen}), so its rows are first widened into scratch. The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 4;

    private Gemv() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        Job job = new Job(x, n, w, y, accumulate);
        Parallel.forRange(Math.ceilDiv(w.rows(), ROWS), job::groups);
    }

    private record Job(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        void groups(int from, int to) {
            Scratch scratch = Scratch.get();
            for (int g = from; g < to; g++) {
                group(g * ROWS, scratch);
            }
        }

        /** Columns {@code [o, o + ROWS)} of y; past the last weight row the last one is read again and not stored. */
        private void group(int o, Scratch scratch) {
            if (w.dtype() == DType.F16) {
                long in = w.cols();
                apply(o, DType.F32, widenedRows(o, scratch), 0, in, 2 * in, 3 * in);
            } else {
                apply(o, w.dtype(), w.data(), rowStart(o), rowStart(o + 1), rowStart(o + 2), rowStart(o + 3));
            }
        }

        private long rowStart(int row) {
            return (long) Math.min(row, w.rows() - 1) * w.cols();
        }

        /** Weight rows {@code [o, o + ROWS)} widened to f32, one after the other. */
        private MemorySegment widenedRows(int o, Scratch scratch) {
            int in = w.cols();
            float[] widened = scratch.weights(ROWS * in);
            for (int r = 0; r < ROWS; r++) {
                Widen.widen(w.dtype(), w.data(), rowStart(o + r), widened, r * in, in);
            }
            MemorySegment rows = scratch.offHeapWeights(ROWS * in);
            MemorySegment.copy(widened, 0, rows, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, ROWS * in);
            return rows;
        }

        /** Dot products of the four weight rows starting at {@code r0..r3} in {@code rows} with each row of x. */
        private void apply(int o, DType dtype, MemorySegment rows, long r0, long r1, long r2, long r3) {
            int in = w.cols();
            int out = w.rows();
            int vectorEnd = in - in % F.length();
            for (int i = 0; i < n; i++) {
                long xi = (long) i * in;
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = s0;
                FloatVector s2 = s0;
                FloatVector s3 = s0;
                for (int k = 0; k < vectorEnd; k += F.length()) {
                    FloatVector xv = FloatVector.fromMemorySegment(F, x, (xi + k) * Float.BYTES, LE);
                    s0 = Widen.load(dtype, rows, r0 + k).fma(xv, s0);
                    s1 = Widen.load(dtype, rows, r1 + k).fma(xv, s1);
                    s2 = Widen.load(dtype, rows, r2 + k).fma(xv, s2);
                    s3 = Widen.load(dtype, rows, r3 + k).fma(xv, s3);
                }
                long yi = (long) i * out + o;
                store(yi, finish(s0, xi, dtype, rows, r0, vectorEnd));
                if (o + 1 < out) {
                    store(yi + 1, finish(s1, xi, dtype, rows, r1, vectorEnd));
                }
                if (o + 2 < out) {
                    store(yi + 2, finish(s2, xi, dtype, rows, r2, vectorEnd));
                }
                if (o + 3 < out) {
                    store(yi + 3, finish(s3, xi, dtype, rows, r3, vectorEnd));
                }
            }
        }

        /** The dot product: the lanes of {@code sum}, plus the columns past the last full vector. */
        private float finish(FloatVector sum, long xi, DType dtype, MemorySegment rows, long row, int vectorEnd) {
            float dot = sum.reduceLanes(VectorOperators.ADD);
            for (int k = vectorEnd; k < w.cols(); k++) {
                dot += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * DTypes.read(dtype, rows, row + k);
            }
            return dot;
        }

        private void store(long index, float value) {
            Matmul.store(y, index, value, accumulate);
        }
    }
}
