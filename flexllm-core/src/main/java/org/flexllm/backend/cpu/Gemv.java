package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.VectorMath.FUSED;
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
 * W, so each weight row is read from memory once, {@value #ROWS} rows at a time, and applied to every row of x
 * while it is still in cache. Eight concurrent streams per core, not four: a core's bandwidth is bound by the
 * cache misses it has in flight, and measured here (AVX-512, two cores, BF16) eight rows streamed ~1.3× the bytes
 * per second of four, close to a plain read loop's rate. F32 and
 * BF16 rows are widened in registers as they stream; F16 has no vector widening in registers (see
 * {@link Widen}), so its rows are widened into scratch a chunk of columns at a time. Quantized blocks are widened
 * in registers as they stream ({@link BlockGemv}), so memory streams the quantized bytes only; for more rows of x
 * than {@link BlockGemv#MAX_ROWS}, and on species that BlockGemv does not take, they are decoded into scratch like
 * F16 rows, whole blocks of every format per chunk ({@value #F16_CHUNK} columns). The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 8;
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

        /** Columns {@code [o, o + ROWS)} of y that exist. */
        private void group(int o, Scratch scratch) {
            int in = w.cols();
            int last = Math.min(ROWS, w.rows() - o) - 1;
            if (Widen.loadsInRegisters(w.dtype())) {
                apply(o, w.dtype(), w.data(), (long) o * in, in, last, 0, in, accumulate, scratch.lanes());
                return;
            }
            if (BlockGemv.supports(w.dtype()) && n <= BlockGemv.MAX_ROWS) {
                BlockGemv.apply(x, n, w, y, o, accumulate);
                return;
            }
            // Chunks, so that reading the next rows from memory follows soon after the arithmetic on these.
            for (int k0 = 0; k0 < in; k0 += F16_CHUNK) {
                int len = Math.min(F16_CHUNK, in - k0);
                MemorySegment rows = widened(o, last, k0, len, scratch);
                apply(o, DType.F32, rows, 0, len, last, k0, len, accumulate || k0 > 0, scratch.lanes());
            }
        }

        /** Columns {@code [k0, k0 + len)} of weight rows {@code o..o + last} widened to f32, one after the other. */
        private MemorySegment widened(int o, int last, int k0, int len, Scratch scratch) {
            float[] widened = scratch.weights(ROWS * len);
            for (int r = 0; r <= last; r++) {
                Widen.widen(w.dtype(), w.data(), (long) (o + r) * w.cols() + k0, widened, r * len, len);
            }
            MemorySegment rows = scratch.offHeapWeights(ROWS * len);
            MemorySegment.copy(widened, 0, rows, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, ROWS * len);
            return rows;
        }

        /**
         * Dot products over columns {@code [k0, k0 + len)} of x with weight rows {@code o + j}, j &le; {@code last},
         * whose column k0 is at {@code base + j * stride} in {@code rows}, stored (or added, when {@code add}) to y;
         * the rows past {@code last} read row {@code last} again and are not stored. {@code sums}: room for the
         * lanes of {@value #ROWS} vectors.
         */
        private void apply(int o, DType dtype, MemorySegment rows, long base, long stride, int last, int k0, int len,
                boolean add, float[] sums) {
            int out = w.rows();
            int vectorEnd = len - len % F.length();
            for (int i = 0; i < n; i++) {
                long xi = (long) i * w.cols() + k0;
                if (dtype == DType.BF16) {
                    Bf16Rows.sums(x, xi, rows, base, stride, last, vectorEnd, sums);
                } else {
                    F32Rows.sums(x, xi, rows, base, stride, last, vectorEnd, sums);
                }
                int lanes = F.length();
                for (int r = 0; r <= last; r++) {
                    float dot = VectorMath.sumLanes(sums, r * lanes, lanes)
                            + tail(xi, dtype, rows, base + r * stride, vectorEnd, len);
                    Matmul.store(y, (long) i * out + o + r, dot, add);
                }
            }
        }

        /** The columns past the last full vector of the dot product of x's row at {@code xi} and the row at {@code row}. */
        private float tail(long xi, DType dtype, MemorySegment rows, long row, int vectorEnd, int len) {
            float dot = 0;
            for (int k = vectorEnd; k < len; k++) {
                dot += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * DTypes.read(dtype, rows, row + k);
            }
            return dot;
        }
    }

    /*
     * The eight-row dot products, once per dtype of the rows, so that C2 compiles each as a unit of its own: with both
     * ways of loading a row in one method (a co-serving process runs f32 adapter rows beside bf16 base rows), it ran
     * out of its inlining budget (NodeCountInliningCutoff) and boxed the vectors of the last rows, gigabytes a second
     * of garbage. Written out row by row, as MicroKernel's tile: C2 keeps no array of vectors in registers. The sums
     * leave the vectors through {@code sums} at once: a vector handed to a call that C2 does not inline is boxed.
     * Rows past {@code last} read row {@code last} again.
     */

    /** Dot products of x's row at {@code xi} with eight f32 rows from {@code base}, {@code stride} apart. */
    private static final class F32Rows {
        static void sums(MemorySegment x, long xi, MemorySegment rows, long base, long stride, int last,
                         int vectorEnd, float[] sums) {
            long r0 = base;
            long r1 = base + Math.min(1, last) * stride;
            long r2 = base + Math.min(2, last) * stride;
            long r3 = base + Math.min(3, last) * stride;
            long r4 = base + Math.min(4, last) * stride;
            long r5 = base + Math.min(5, last) * stride;
            long r6 = base + Math.min(6, last) * stride;
            long r7 = base + Math.min(7, last) * stride;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int k = 0; k < vectorEnd; k += F.length()) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xi + k) * Float.BYTES, LE);
                FloatVector w0 = FloatVector.fromMemorySegment(F, rows, (r0 + k) * Float.BYTES, LE);
                s0 = FUSED ? w0.fma(xv, s0) : w0.mul(xv).add(s0);
                FloatVector w1 = FloatVector.fromMemorySegment(F, rows, (r1 + k) * Float.BYTES, LE);
                s1 = FUSED ? w1.fma(xv, s1) : w1.mul(xv).add(s1);
                FloatVector w2 = FloatVector.fromMemorySegment(F, rows, (r2 + k) * Float.BYTES, LE);
                s2 = FUSED ? w2.fma(xv, s2) : w2.mul(xv).add(s2);
                FloatVector w3 = FloatVector.fromMemorySegment(F, rows, (r3 + k) * Float.BYTES, LE);
                s3 = FUSED ? w3.fma(xv, s3) : w3.mul(xv).add(s3);
                FloatVector w4 = FloatVector.fromMemorySegment(F, rows, (r4 + k) * Float.BYTES, LE);
                s4 = FUSED ? w4.fma(xv, s4) : w4.mul(xv).add(s4);
                FloatVector w5 = FloatVector.fromMemorySegment(F, rows, (r5 + k) * Float.BYTES, LE);
                s5 = FUSED ? w5.fma(xv, s5) : w5.mul(xv).add(s5);
                FloatVector w6 = FloatVector.fromMemorySegment(F, rows, (r6 + k) * Float.BYTES, LE);
                s6 = FUSED ? w6.fma(xv, s6) : w6.mul(xv).add(s6);
                FloatVector w7 = FloatVector.fromMemorySegment(F, rows, (r7 + k) * Float.BYTES, LE);
                s7 = FUSED ? w7.fma(xv, s7) : w7.mul(xv).add(s7);
            }
            int lanes = F.length();
            s0.intoArray(sums, 0);
            s1.intoArray(sums, lanes);
            s2.intoArray(sums, 2 * lanes);
            s3.intoArray(sums, 3 * lanes);
            s4.intoArray(sums, 4 * lanes);
            s5.intoArray(sums, 5 * lanes);
            s6.intoArray(sums, 6 * lanes);
            s7.intoArray(sums, 7 * lanes);
        }
    }

    /** As {@link F32Rows}, over bf16 rows widened in registers. */
    private static final class Bf16Rows {
        static void sums(MemorySegment x, long xi, MemorySegment rows, long base, long stride, int last,
                         int vectorEnd, float[] sums) {
            long r0 = base;
            long r1 = base + Math.min(1, last) * stride;
            long r2 = base + Math.min(2, last) * stride;
            long r3 = base + Math.min(3, last) * stride;
            long r4 = base + Math.min(4, last) * stride;
            long r5 = base + Math.min(5, last) * stride;
            long r6 = base + Math.min(6, last) * stride;
            long r7 = base + Math.min(7, last) * stride;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int k = 0; k < vectorEnd; k += F.length()) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xi + k) * Float.BYTES, LE);
                FloatVector w0 = Widen.bf16(rows, r0 + k);
                s0 = FUSED ? w0.fma(xv, s0) : w0.mul(xv).add(s0);
                FloatVector w1 = Widen.bf16(rows, r1 + k);
                s1 = FUSED ? w1.fma(xv, s1) : w1.mul(xv).add(s1);
                FloatVector w2 = Widen.bf16(rows, r2 + k);
                s2 = FUSED ? w2.fma(xv, s2) : w2.mul(xv).add(s2);
                FloatVector w3 = Widen.bf16(rows, r3 + k);
                s3 = FUSED ? w3.fma(xv, s3) : w3.mul(xv).add(s3);
                FloatVector w4 = Widen.bf16(rows, r4 + k);
                s4 = FUSED ? w4.fma(xv, s4) : w4.mul(xv).add(s4);
                FloatVector w5 = Widen.bf16(rows, r5 + k);
                s5 = FUSED ? w5.fma(xv, s5) : w5.mul(xv).add(s5);
                FloatVector w6 = Widen.bf16(rows, r6 + k);
                s6 = FUSED ? w6.fma(xv, s6) : w6.mul(xv).add(s6);
                FloatVector w7 = Widen.bf16(rows, r7 + k);
                s7 = FUSED ? w7.fma(xv, s7) : w7.mul(xv).add(s7);
            }
            int lanes = F.length();
            s0.intoArray(sums, 0);
            s1.intoArray(sums, lanes);
            s2.intoArray(sums, 2 * lanes);
            s3.intoArray(sums, 3 * lanes);
            s4.intoArray(sums, 4 * lanes);
            s5.intoArray(sums, 5 * lanes);
            s6.intoArray(sums, 6 * lanes);
            s7.intoArray(sums, 7 * lanes);
        }
    }
}
