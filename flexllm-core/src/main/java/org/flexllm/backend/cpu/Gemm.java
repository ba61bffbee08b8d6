package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for many rows of x: arithmetic-bound, so the work is arranged for the FMA units.
 *
 * <p>The micro-kernel computes a tile of yᵀ, {@value #TILE_ROWS} weight rows × {@link #PANEL} rows of x (two
 * vectors), in 12 vector accumulators: at each k it loads two vectors of x and broadcasts one f32 weight per
 * weight row, so there are no horizontal reductions and no tails in the inner loop. For that:
 * <ul>
 *   <li>x is packed into panels of {@code PANEL} rows, transposed so that a column is contiguous; zero rows
 *       pad the last panel;
 *   <li>weight rows are widened to f32 into scratch once per block of x rows, cut into column blocks of the
 *       constant width {@value #K_BLOCK}, so that the kernel's six weight streams differ by constant offsets
 *       (no address arithmetic per row in the inner loop);
 *   <li>tiles run in groups of {@value #GROUP_TILES}: per column block, each x panel meets all the group's
 *       tiles in turn, so that it is read from L1 while the widened weights come from L2;
 *   <li>the group's yᵀ accumulates in scratch across column blocks and is written to y once, a row at a time
 *       (writing yᵀ tiles straight into y would scatter each result over 32 rows whose power-of-two stride
 *       maps them into the same L1 set).
 * </ul>
 * {@value #ROW_BLOCK} rows of x are packed at a time, which bounds the scratch. The cores split the groups.
 */
final class Gemm {
    static final int TILE_ROWS = 6;
    static final int PANEL = 2 * F.length();
    static final int K_BLOCK = 256;
    static final int GROUP_TILES = 32;
    static final int ROW_BLOCK = 512;

    private Gemm() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        for (int i0 = 0; i0 < n; i0 += ROW_BLOCK) {
            int rows = Math.min(ROW_BLOCK, n - i0);
            int padded = Math.ceilDiv(rows, PANEL) * PANEL;
            Block block = new Block(x, w, y, accumulate, i0, rows, Scratch.get().packed(padded * w.cols()));
            Parallel.forRange(block.panels(), block::pack);
            Parallel.forRange(Math.ceilDiv(w.rows(), GROUP_TILES * TILE_ROWS), block::multiply);
        }
    }

    /** Rows {@code [i0, i0 + rows)} of x and y, with x packed into {@code packed}. */
    private record Block(MemorySegment x, Tensor w, MemorySegment y, boolean accumulate, int i0, int rows,
            float[] packed) {

        int panels() {
            return Math.ceilDiv(rows, PANEL);
        }

        int padded() {
            return panels() * PANEL;
        }

        /** Where column block {@code k0} of panel {@code p} starts: blocks of full width precede it. */
        int panelStart(int k0, int p) {
            return (k0 * panels() + p * Math.min(K_BLOCK, w.cols() - k0)) * PANEL;
        }

        /** packed[panelStart(k0, p) + k·PANEL + lane] = x[i0 + p·PANEL + lane, k0 + k], for panels [from, to). */
        void pack(int from, int to) {
            int in = w.cols();
            for (int p = from; p < to; p++) {
                for (int k0 = 0; k0 < in; k0 += K_BLOCK) {
                    int kc = Math.min(K_BLOCK, in - k0);
                    // A few columns for all lanes at a time, so that the destination lines stay in L1.
                    for (int kk = 0; kk < kc; kk += F.length()) {
                        for (int lane = 0; lane < PANEL; lane++) {
                            packColumns(p * PANEL + lane, k0 + kk, Math.min(F.length(), kc - kk),
                                    panelStart(k0, p) + kk * PANEL + lane);
                        }
                    }
                }
            }
        }

        /** Columns {@code [k, k + count)} of block row {@code row} (zeros past the last row), PANEL apart. */
        private void packColumns(int row, int k, int count, int dst) {
            long src = (long) (i0 + row) * w.cols() + k;
            for (int j = 0; j < count; j++) {
                packed[dst + j * PANEL] = row < rows ? x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, src + j) : 0f;
            }
        }

        /** Groups of weight tiles {@code [from, to)} against all panels. */
        void multiply(int from, int to) {
            Scratch scratch = Scratch.get();
            for (int g = from; g < to; g++) {
                group(g * GROUP_TILES * TILE_ROWS, scratch);
            }
        }

        /** Columns {@code [o0, o0 + GROUP_TILES·TILE_ROWS)} of y, clipped to its width. */
        private void group(int o0, Scratch scratch) {
            int in = w.cols();
            int cols = Math.min(GROUP_TILES * TILE_ROWS, w.rows() - o0);
            int tiles = Math.ceilDiv(cols, TILE_ROWS);
            int blocks = Math.ceilDiv(in, K_BLOCK);
            float[] weights = widen(o0, tiles, blocks, scratch);
            // Whole vectors of columns: the gathers in store() check every lane's index, masked or not.
            float[] sums = scratch.sums(Math.ceilDiv(tiles * TILE_ROWS, F.length()) * F.length() * padded());
            Arrays.fill(sums, 0, tiles * TILE_ROWS * padded(), 0f);
            for (int b = 0; b < blocks; b++) {
                int k0 = b * K_BLOCK;
                for (int p = 0; p < panels(); p++) {
                    for (int t = 0; t < tiles; t++) {
                        kernel(weights, weightsAt(t, b, blocks), Math.min(K_BLOCK, in - k0), packed,
                                panelStart(k0, p), sums, t * TILE_ROWS * padded() + p * PANEL, padded());
                    }
                }
            }
            store(sums, o0, cols, scratch.strides(padded()));
        }

        /**
         * The group's weight rows widened to f32, at {@link #weightsAt}; past the last weight row the last one is
         * widened again. A tile's six rows are read side by side, six streams that the prefetchers follow.
         */
        private float[] widen(int o0, int tiles, int blocks, Scratch scratch) {
            int in = w.cols();
            float[] weights = scratch.weights(tiles * blocks * TILE_ROWS * K_BLOCK);
            for (int t = 0; t < tiles; t++) {
                for (int b = 0; b < blocks; b++) {
                    int k0 = b * K_BLOCK;
                    for (int r = 0; r < TILE_ROWS; r++) {
                        long row = Math.min(o0 + t * TILE_ROWS + r, w.rows() - 1);
                        Widen.widen(w.dtype(), w.data(), row * in + k0, weights,
                                weightsAt(t, b, blocks) + r * K_BLOCK, Math.min(K_BLOCK, in - k0));
                    }
                }
            }
            return weights;
        }

        /** Where tile t's widened weights for column block b start: TILE_ROWS rows of K_BLOCK floats. */
        private static int weightsAt(int t, int b, int blocks) {
            return (t * blocks + b) * TILE_ROWS * K_BLOCK;
        }

        /**
         * y[i0 + i, o0 + c] (+)= sums[c·padded + i]: the group's yᵀ written to y a row at a time, each vector of
         * y gathered from {@code sums} with {@code columns} (lane j reads j·padded further on).
         */
        private void store(float[] sums, int o0, int cols, int[] columns) {
            int out = w.rows();
            for (int i = 0; i < rows; i++) {
                long yi = ((long) (i0 + i) * out + o0) * Float.BYTES;
                for (int c = 0; c < cols; c += F.length()) {
                    VectorMask<Float> inRange = F.indexInRange(c, cols);
                    FloatVector v = FloatVector.fromArray(F, sums, c * padded() + i, columns, 0, inRange);
                    if (accumulate) {
                        v = v.add(FloatVector.fromMemorySegment(F, y, yi + (long) c * Float.BYTES, LE, inRange));
                    }
                    v.intoMemorySegment(y, yi + (long) c * Float.BYTES, LE, inRange);
                }
            }
        }
    }

    /**
     * One tile, for its {@value #TILE_ROWS} weight rows r and {@link #PANEL} lanes: {@code sums[at + r·stride +
     * lane] += Σ_{k<kc} weights[w + r·K_BLOCK + k] · packed[start + k·PANEL + lane]}. Twelve named accumulators so
     * that they stay in registers.
     */
    private static void kernel(float[] weights, int w, int kc, float[] packed, int start, float[] sums, int at,
            int stride) {
        VectorSpecies<Float> s = F;
        int lanes = s.length();
        FloatVector c00 = FloatVector.fromArray(s, sums, at);
        FloatVector c01 = FloatVector.fromArray(s, sums, at + lanes);
        FloatVector c10 = FloatVector.fromArray(s, sums, at + stride);
        FloatVector c11 = FloatVector.fromArray(s, sums, at + stride + lanes);
        FloatVector c20 = FloatVector.fromArray(s, sums, at + 2 * stride);
        FloatVector c21 = FloatVector.fromArray(s, sums, at + 2 * stride + lanes);
        FloatVector c30 = FloatVector.fromArray(s, sums, at + 3 * stride);
        FloatVector c31 = FloatVector.fromArray(s, sums, at + 3 * stride + lanes);
        FloatVector c40 = FloatVector.fromArray(s, sums, at + 4 * stride);
        FloatVector c41 = FloatVector.fromArray(s, sums, at + 4 * stride + lanes);
        FloatVector c50 = FloatVector.fromArray(s, sums, at + 5 * stride);
        FloatVector c51 = FloatVector.fromArray(s, sums, at + 5 * stride + lanes);
        for (int k = 0; k < kc; k++) {
            int x = start + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(s, packed, x);
            FloatVector x1 = FloatVector.fromArray(s, packed, x + lanes);
            FloatVector b = FloatVector.broadcast(s, weights[w + k]);
            c00 = b.fma(x0, c00);
            c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(s, weights[w + K_BLOCK + k]);
            c10 = b.fma(x0, c10);
            c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(s, weights[w + 2 * K_BLOCK + k]);
            c20 = b.fma(x0, c20);
            c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(s, weights[w + 3 * K_BLOCK + k]);
            c30 = b.fma(x0, c30);
            c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(s, weights[w + 4 * K_BLOCK + k]);
            c40 = b.fma(x0, c40);
            c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(s, weights[w + 5 * K_BLOCK + k]);
            c50 = b.fma(x0, c50);
            c51 = b.fma(x1, c51);
        }
        c00.intoArray(sums, at);
        c01.intoArray(sums, at + lanes);
        c10.intoArray(sums, at + stride);
        c11.intoArray(sums, at + stride + lanes);
        c20.intoArray(sums, at + 2 * stride);
        c21.intoArray(sums, at + 2 * stride + lanes);
        c30.intoArray(sums, at + 3 * stride);
        c31.intoArray(sums, at + 3 * stride + lanes);
        c40.intoArray(sums, at + 4 * stride);
        c41.intoArray(sums, at + 4 * stride + lanes);
        c50.intoArray(sums, at + 5 * stride);
        c51.intoArray(sums, at + 5 * stride + lanes);
    }
}
