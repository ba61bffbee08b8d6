package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for up to {@link Matmul#GEMV_MAX_ROWS} rows of x: bound by the memory bandwidth of streaming
 * W, so each weight row is read from memory once, {@value #ROWS} rows at a time (four concurrent streams keep
 * enough loads in flight to saturate memory), and applied to every row of x while it is still in L1. F32 and
 * BF16 rows are widened in registers as they stream; F16 has no vector widening in registers (see
 * {@link Widen}), so its rows are widened into scratch a chunk of columns at a time. Quantized blocks are widened
 * in registers as they stream ({@link BlockGemv}), so memory streams the quantized bytes only; for more rows of x
 * than {@link BlockGemv#MAX_ROWS}, and on species that BlockGemv does not take, they are decoded into scratch like
 * F16 rows, whole blocks of every format per chunk ({@value #F16_CHUNK} columns). The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 4;
    /**
     * Columns of F16 or quantized rows widened at a time: small enough that memory reads and arithmetic alternate
     * quickly, a multiple of every block size.
     */
    static final int F16_CHUNK = 512;

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
            int in = w.cols();
            if (Widen.loadsInRegisters(w.dtype())) {
                apply(o, w.dtype(), w.data(), rowStart(o), rowStart(o + 1), rowStart(o + 2), rowStart(o + 3), 0, in,
                        accumulate, scratch.lanes());
                return;
            }
            if (BlockGemv.supports(w.dtype()) && n <= BlockGemv.MAX_ROWS) {
                BlockGemv.apply(x, n, w, y, o, accumulate);
                return;
            }
            // Chunks, so that reading the next rows from memory follows soon after the arithmetic on these.
            for (int k0 = 0; k0 < in; k0 += F16_CHUNK) {
                int len = Math.min(F16_CHUNK, in - k0);
                MemorySegment rows = widened(o, k0, len, scratch);
                apply(o, DType.F32, rows, 0, len, 2L * len, 3L * len, k0, len, accumulate || k0 > 0, scratch.lanes());
            }
        }

        private long rowStart(int row) {
            return (long) Math.min(row, w.rows() - 1) * w.cols();
        }

        /** Columns {@code [k0, k0 + len)} of weight rows {@code [o, o + ROWS)} widened to f32, one after the other. */
        private MemorySegment widened(int o, int k0, int len, Scratch scratch) {
            float[] widened = scratch.weights(ROWS * len);
            for (int r = 0; r < ROWS; r++) {
                Widen.widen(w.dtype(), w.data(), rowStart(o + r) + k0, widened, r * len, len);
            }
            MemorySegment rows = scratch.offHeapWeights(ROWS * len);
            MemorySegment.copy(widened, 0, rows, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, ROWS * len);
            return rows;
        }

        /**
         * Dot products over columns {@code [k0, k0 + len)} of x with the four weight rows whose column k0 is at
         * {@code r0..r3} in {@code rows}, stored (or added, when {@code add}) to y; {@code lanes}: room to sum a vector.
         */
        private void apply(int o, DType dtype, MemorySegment rows, long r0, long r1, long r2, long r3, int k0, int len,
                boolean add, float[] lanes) {
            int out = w.rows();
            int vectorEnd = len - len % F.length();
            for (int i = 0; i < n; i++) {
                long xi = (long) i * w.cols() + k0;
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
                Matmul.store(y, yi, finish(s0, lanes, xi, dtype, rows, r0, vectorEnd, len), add);
                if (o + 1 < out) {
                    Matmul.store(y, yi + 1, finish(s1, lanes, xi, dtype, rows, r1, vectorEnd, len), add);
                }
                if (o + 2 < out) {
                    Matmul.store(y, yi + 2, finish(s2, lanes, xi, dtype, rows, r2, vectorEnd, len), add);
                }
                if (o + 3 < out) {
                    Matmul.store(y, yi + 3, finish(s3, lanes, xi, dtype, rows, r3, vectorEnd, len), add);
                }
            }
        }

        /** The dot product: the lanes of {@code sum} (added through {@code lanes}), plus the columns past the last full vector. */
        private float finish(FloatVector sum, float[] lanes, long xi, DType dtype, MemorySegment rows, long row,
                int vectorEnd, int len) {
            sum.intoArray(lanes, 0);
            float dot = VectorMath.sumLanes(lanes);
            for (int k = vectorEnd; k < len; k++) {
                dot += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * DTypes.read(dtype, rows, row + k);
            }
            return dot;
        }
    }
}
