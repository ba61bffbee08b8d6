package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.VectorMath.FUSED;
import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for up to {@link Matmul#GEMV_MAX_ROWS} rows of x: bound by the memory bandwidth of streaming
 * W, so each weight row is read from memory once, {@value #ROWS} rows at a time, and applied to every row of x
 * while it is still in cache. Eight concurrent streams per core, not four: a core's bandwidth is bound by the
 * cache misses it has in flight, and measured here (AVX-512, two cores, BF16) eight rows streamed ~1.3× the bytes
 * per second of four, close to a plain read loop's rate.
 *
 * <p>Each weight vector loaded (and widened) feeds {@link #X_ROWS} rows of x where the registers hold their
 * accumulators, so that a few rows of x cost little more than one. The rows are taken a chunk of {@value #CHUNK}
 * columns at a time, every tile of x rows in turn, so that the tiles after the first read the chunk from L1; each
 * tile adds its chunk's sums to lanes kept in scratch. So every output is summed in one order (per lane, each
 * chunk's multiply-adds in column order, the chunks added in turn; then the lanes and the tail), whichever tile,
 * thread or batch it is computed in.
 *
 * <p>F32 and BF16 rows are widened in registers as they stream; F16 has no vector widening in registers (see
 * {@link Widen}), so its chunks are widened into scratch first. Quantized blocks are widened in registers as they
 * stream ({@link BlockGemv}), so memory streams the quantized bytes only; for more rows of x than
 * {@link BlockGemv#MAX_ROWS}, and on species that BlockGemv does not take, they are decoded into scratch like F16
 * rows, whole blocks of every format per chunk. The cores split the weight rows.
 */
final class Gemv {
    static final int ROWS = 8;
    /**
     * Rows of x per tile where there are 32 vector registers: 4 weight rows × 4 rows of x, 16 accumulators, 4
     * vectors of x and the weight vector. Where there are 16, 8 weight rows × 1 row of x fill them.
     */
    static final int X_ROWS = VectorRegisters.COUNT >= 32 ? 4 : 1;
    /**
     * Columns per pass over a group's rows: small enough that the chunk stays in L1 for the later tiles of x
     * (8 rows × 512 f32 = 16 KB) and that memory reads and arithmetic alternate quickly; a multiple of every
     * vector length and block size.
     */
    static final int CHUNK = 512;

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
            if (!Widen.loadsInRegisters(w.dtype()) && BlockGemv.supports(w.dtype()) && n <= BlockGemv.MAX_ROWS) {
                BlockGemv.apply(x, n, w, y, o, accumulate);
                return;
            }
            int in = w.cols();
            int last = Math.min(ROWS, w.rows() - o) - 1;
            int vectorEnd = in - in % F.length();
            float[] sums = scratch.lanes();
            Arrays.fill(sums, 0, n * ROWS * F.length(), 0f);
            for (int k0 = 0; k0 < vectorEnd; k0 += CHUNK) {
                int k1 = Math.min(k0 + CHUNK, vectorEnd);
                if (Widen.loadsInRegisters(w.dtype())) {
                    tiles(w.dtype(), w.data(), (long) o * in, in, last, k0, k1, sums);
                } else {
                    tiles(DType.F32, widened(o, last, k0, k1 - k0, scratch), -k0, k1 - k0, last, k0, k1, sums);
                }
            }
            for (int i = 0; i < n; i++) {
                for (int r = 0; r <= last; r++) {
                    float dot = VectorMath.sumLanes(sums, (i * ROWS + r) * F.length(), F.length())
                            + tail(i, o + r, vectorEnd);
                    Matmul.store(y, (long) i * w.rows() + o + r, dot, accumulate);
                }
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
         * Adds the products over columns {@code [k0, k1)} of every row of x with weight row {@code j} &le;
         * {@code last}, whose column k is at {@code base + j·stride + k} in {@code rows}, to the lanes of their
         * sums: rows of x {@link #X_ROWS} at a time against each half of the group, a remainder of 2 or 3 as a tile
         * of 4 that repeats the last row, a remainder of 1 against the whole group.
         */
        private void tiles(DType dtype, MemorySegment rows, long base, long stride, int last, int k0, int k1,
                float[] sums) {
            int i = 0;
            for (; X_ROWS == 4 && i + 1 < n; i += 4) {
                int c = Math.min(i + 2, n - 1);
                int d = Math.min(i + 3, n - 1);
                tile4(dtype, rows, base, stride, last, 0, k0, k1, i, i + 1, c, d, sums);
                if (last >= 4) {
                    tile4(dtype, rows, base, stride, last, 4, k0, k1, i, i + 1, c, d, sums);
                }
            }
            for (; i < n; i++) {
                tile1(dtype, rows, base, stride, last, k0, k1, i, sums);
            }
        }

        /**
         * The 8 × 1 tile: row {@code a} of x against the 8 weight rows, which are 8 streams from memory at
         * once for one row of x. Rows past {@code last} read row {@code last} again; their sums are not read.
         */
        private void tile1(DType dtype, MemorySegment rows, long base, long stride, int last, int k0, int k1, int a,
                float[] sums) {
            long xa = (long) a * w.cols();
            int sa = a * ROWS * F.length();
            if (dtype == DType.BF16) {
                Bf16Rows.add(x, xa, rows, base, stride, last, k0, k1, sums, sa);
            } else {
                F32Rows.add(x, xa, rows, base, stride, last, k0, k1, sums, sa);
            }
        }

        /**
         * The 4 × 4 tile: weight rows {@code q..q + 3} (those past {@code last} read row {@code last} again; their
         * sums are not read) against rows {@code a}, {@code b}, {@code c} and {@code d} of x, each weight vector feeding four
         * multiply-adds. A row of x may be repeated to fill the tile (a remainder of 2 or 3 rows); its chains are
         * the same and added once.
         */
        private void tile4(DType dtype, MemorySegment rows, long base, long stride, int last, int q, int k0, int k1,
                int a, int b, int c, int d, float[] sums) {
            long r0 = base + Math.min(q, last) * stride;
            long r1 = base + Math.min(q + 1, last) * stride;
            long r2 = base + Math.min(q + 2, last) * stride;
            long r3 = base + Math.min(q + 3, last) * stride;
            int lanes = F.length();
            long xa = (long) a * w.cols();
            long xb = (long) b * w.cols();
            long xc = (long) c * w.cols();
            long xd = (long) d * w.cols();
            int sa = (a * ROWS + q) * lanes;
            int sb = (b * ROWS + q) * lanes;
            int sc = (c * ROWS + q) * lanes;
            int sd = (d * ROWS + q) * lanes;
            FloatVector zero = FloatVector.zero(F);
            FloatVector s0a = zero;
            FloatVector s1a = zero;
            FloatVector s2a = zero;
            FloatVector s3a = zero;
            FloatVector s0b = zero;
            FloatVector s1b = zero;
            FloatVector s2b = zero;
            FloatVector s3b = zero;
            FloatVector s0c = zero;
            FloatVector s1c = zero;
            FloatVector s2c = zero;
            FloatVector s3c = zero;
            FloatVector s0d = zero;
            FloatVector s1d = zero;
            FloatVector s2d = zero;
            FloatVector s3d = zero;
            for (int k = k0; k < k1; k += lanes) {
                FloatVector xva = FloatVector.fromMemorySegment(F, x, (xa + k) * Float.BYTES, LE);
                FloatVector xvb = FloatVector.fromMemorySegment(F, x, (xb + k) * Float.BYTES, LE);
                FloatVector xvc = FloatVector.fromMemorySegment(F, x, (xc + k) * Float.BYTES, LE);
                FloatVector xvd = FloatVector.fromMemorySegment(F, x, (xd + k) * Float.BYTES, LE);
                FloatVector v = Widen.load(dtype, rows, r0 + k);
                s0a = FUSED ? v.fma(xva, s0a) : v.mul(xva).add(s0a);
                s0b = FUSED ? v.fma(xvb, s0b) : v.mul(xvb).add(s0b);
                s0c = FUSED ? v.fma(xvc, s0c) : v.mul(xvc).add(s0c);
                s0d = FUSED ? v.fma(xvd, s0d) : v.mul(xvd).add(s0d);
                v = Widen.load(dtype, rows, r1 + k);
                s1a = FUSED ? v.fma(xva, s1a) : v.mul(xva).add(s1a);
                s1b = FUSED ? v.fma(xvb, s1b) : v.mul(xvb).add(s1b);
                s1c = FUSED ? v.fma(xvc, s1c) : v.mul(xvc).add(s1c);
                s1d = FUSED ? v.fma(xvd, s1d) : v.mul(xvd).add(s1d);
                v = Widen.load(dtype, rows, r2 + k);
                s2a = FUSED ? v.fma(xva, s2a) : v.mul(xva).add(s2a);
                s2b = FUSED ? v.fma(xvb, s2b) : v.mul(xvb).add(s2b);
                s2c = FUSED ? v.fma(xvc, s2c) : v.mul(xvc).add(s2c);
                s2d = FUSED ? v.fma(xvd, s2d) : v.mul(xvd).add(s2d);
                v = Widen.load(dtype, rows, r3 + k);
                s3a = FUSED ? v.fma(xva, s3a) : v.mul(xva).add(s3a);
                s3b = FUSED ? v.fma(xvb, s3b) : v.mul(xvb).add(s3b);
                s3c = FUSED ? v.fma(xvc, s3c) : v.mul(xvc).add(s3c);
                s3d = FUSED ? v.fma(xvd, s3d) : v.mul(xvd).add(s3d);
            }
            FloatVector.fromArray(F, sums, sa).add(s0a).intoArray(sums, sa);
            FloatVector.fromArray(F, sums, sa + lanes).add(s1a).intoArray(sums, sa + lanes);
            FloatVector.fromArray(F, sums, sa + 2 * lanes).add(s2a).intoArray(sums, sa + 2 * lanes);
            FloatVector.fromArray(F, sums, sa + 3 * lanes).add(s3a).intoArray(sums, sa + 3 * lanes);
            if (b != a) {
                FloatVector.fromArray(F, sums, sb).add(s0b).intoArray(sums, sb);
                FloatVector.fromArray(F, sums, sb + lanes).add(s1b).intoArray(sums, sb + lanes);
                FloatVector.fromArray(F, sums, sb + 2 * lanes).add(s2b).intoArray(sums, sb + 2 * lanes);
                FloatVector.fromArray(F, sums, sb + 3 * lanes).add(s3b).intoArray(sums, sb + 3 * lanes);
            }
            if (c != b) {
                FloatVector.fromArray(F, sums, sc).add(s0c).intoArray(sums, sc);
                FloatVector.fromArray(F, sums, sc + lanes).add(s1c).intoArray(sums, sc + lanes);
                FloatVector.fromArray(F, sums, sc + 2 * lanes).add(s2c).intoArray(sums, sc + 2 * lanes);
                FloatVector.fromArray(F, sums, sc + 3 * lanes).add(s3c).intoArray(sums, sc + 3 * lanes);
            }
            if (d != c) {
                FloatVector.fromArray(F, sums, sd).add(s0d).intoArray(sums, sd);
                FloatVector.fromArray(F, sums, sd + lanes).add(s1d).intoArray(sums, sd + lanes);
                FloatVector.fromArray(F, sums, sd + 2 * lanes).add(s2d).intoArray(sums, sd + 2 * lanes);
                FloatVector.fromArray(F, sums, sd + 3 * lanes).add(s3d).intoArray(sums, sd + 3 * lanes);
            }
        }

        /** The columns past the last full vector of the dot product of x's row i and weight row {@code row}. */
        private float tail(int i, int row, int vectorEnd) {
            long xi = (long) i * w.cols();
            long wi = (long) row * w.cols();
            float dot = 0;
            for (int k = vectorEnd; k < w.cols(); k++) {
                dot += x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xi + k) * DTypes.read(w.dtype(), w.data(), wi + k);
            }
            return dot;
        }
    }

    /*
     * The 8 × 1 tile, once per dtype of the rows, so that C2 compiles each as a unit of its own: with both ways of
     * loading a row in one method (a co-serving process runs f32 adapter rows beside bf16 base rows), it ran out of its
     * inlining budget (NodeCountInliningCutoff) and boxed the vectors of the last rows, gigabytes a second of garbage.
     * Written out row by row, as MicroKernel's tile: C2 keeps no array of vectors in registers. Each adds its lanes
     * into {@code sums} from {@code sa}; rows past {@code last} read row {@code last} again, their sums unread.
     */

    /** Row {@code xa} of x against eight f32 rows from {@code base}, {@code stride} apart, columns {@code [k0, k1)}. */
    private static final class F32Rows {
        static void add(MemorySegment x, long xa, MemorySegment rows, long base, long stride, int last, int k0,
                        int k1, float[] sums, int sa) {
            long r0 = base;
            long r1 = base + Math.min(1, last) * stride;
            long r2 = base + Math.min(2, last) * stride;
            long r3 = base + Math.min(3, last) * stride;
            long r4 = base + Math.min(4, last) * stride;
            long r5 = base + Math.min(5, last) * stride;
            long r6 = base + Math.min(6, last) * stride;
            long r7 = base + Math.min(7, last) * stride;
            int lanes = F.length();
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int k = k0; k < k1; k += lanes) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xa + k) * Float.BYTES, LE);
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
            FloatVector.fromArray(F, sums, sa).add(s0).intoArray(sums, sa);
            FloatVector.fromArray(F, sums, sa + lanes).add(s1).intoArray(sums, sa + lanes);
            FloatVector.fromArray(F, sums, sa + 2 * lanes).add(s2).intoArray(sums, sa + 2 * lanes);
            FloatVector.fromArray(F, sums, sa + 3 * lanes).add(s3).intoArray(sums, sa + 3 * lanes);
            FloatVector.fromArray(F, sums, sa + 4 * lanes).add(s4).intoArray(sums, sa + 4 * lanes);
            FloatVector.fromArray(F, sums, sa + 5 * lanes).add(s5).intoArray(sums, sa + 5 * lanes);
            FloatVector.fromArray(F, sums, sa + 6 * lanes).add(s6).intoArray(sums, sa + 6 * lanes);
            FloatVector.fromArray(F, sums, sa + 7 * lanes).add(s7).intoArray(sums, sa + 7 * lanes);
        }
    }

    /** As {@link F32Rows}, over bf16 rows widened in registers. */
    private static final class Bf16Rows {
        static void add(MemorySegment x, long xa, MemorySegment rows, long base, long stride, int last, int k0,
                        int k1, float[] sums, int sa) {
            long r0 = base;
            long r1 = base + Math.min(1, last) * stride;
            long r2 = base + Math.min(2, last) * stride;
            long r3 = base + Math.min(3, last) * stride;
            long r4 = base + Math.min(4, last) * stride;
            long r5 = base + Math.min(5, last) * stride;
            long r6 = base + Math.min(6, last) * stride;
            long r7 = base + Math.min(7, last) * stride;
            int lanes = F.length();
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int k = k0; k < k1; k += lanes) {
                FloatVector xv = FloatVector.fromMemorySegment(F, x, (xa + k) * Float.BYTES, LE);
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
            FloatVector.fromArray(F, sums, sa).add(s0).intoArray(sums, sa);
            FloatVector.fromArray(F, sums, sa + lanes).add(s1).intoArray(sums, sa + lanes);
            FloatVector.fromArray(F, sums, sa + 2 * lanes).add(s2).intoArray(sums, sa + 2 * lanes);
            FloatVector.fromArray(F, sums, sa + 3 * lanes).add(s3).intoArray(sums, sa + 3 * lanes);
            FloatVector.fromArray(F, sums, sa + 4 * lanes).add(s4).intoArray(sums, sa + 4 * lanes);
            FloatVector.fromArray(F, sums, sa + 5 * lanes).add(s5).intoArray(sums, sa + 5 * lanes);
            FloatVector.fromArray(F, sums, sa + 6 * lanes).add(s6).intoArray(sums, sa + 6 * lanes);
            FloatVector.fromArray(F, sums, sa + 7 * lanes).add(s7).intoArray(sums, sa + 7 * lanes);
        }
    }
}
