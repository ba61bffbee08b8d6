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
 * vectors), in 24 vector accumulators: at each k it loads two vectors of x and broadcasts one f32 weight per
 * weight row, so there are no horizontal reductions and no tails in the inner loop. For that:
 * <ul>
 *   <li>x is packed into panels of {@code PANEL} rows, transposed so that a column is contiguous; zero rows
 *       pad the last panel;
 *   <li>weight rows are widened to f32 into scratch a column block of the constant width {@value #K_BLOCK} at
 *       a time, so that the kernel's weight streams differ by constant offsets (no address arithmetic per row
 *       in the inner loop);
 *   <li>tiles run in groups (see {@link Block#groupTiles}): per column block, each x panel meets all the
 *       group's tiles in turn, so that it is read from L1 while the widened weights come from L2;
 *   <li>the group's yᵀ accumulates in scratch across column blocks and is written to y once, a row at a time
 *       (writing yᵀ tiles straight into y would scatter each result over 32 rows whose power-of-two stride
 *       maps them into the same L1 set).
 * </ul>
 * {@value #ROW_BLOCK} rows of x are packed at a time, which bounds the scratch. The cores split the groups.
 */
final class Gemm {
    static final int TILE_ROWS = 12;
    static final int PANEL = 2 * F.length();
    static final int K_BLOCK = 256;
    static final int GROUP_TILES = 16;
    static final int ROW_BLOCK = 512;

    private Gemm() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        for (int i0 = 0; i0 < n; i0 += ROW_BLOCK) {
            int rows = Math.min(ROW_BLOCK, n - i0);
            int padded = Math.ceilDiv(rows, PANEL) * PANEL;
            Block block = new Block(x, w, y, accumulate, i0, rows, Scratch.get().packed(padded * w.cols()));
            Parallel.forRange(block.panels() * block.columnBlocks(), block::pack);
            Parallel.forRange(Math.ceilDiv(w.rows(), block.groupTiles() * TILE_ROWS), block::multiply);
        }
    }

    /** Rows {@code [i0, i0 + rows)} of x and y, with x packed into {@code packed}. */
    private record Block(MemorySegment x, Tensor w, MemorySegment y, boolean accumulate, int i0, int rows,
            float[] packed) {

        int panels() {
            return Math.ceilDiv(rows, PANEL);
        }

        /**
         * Tiles that share each x panel while it is in L1. With one panel (batched decode) every group reads all
         * of x once whatever its size, so one tile per group is best (measured): its widened block stays in L1,
         * and small {@code out} (k/v_proj) still gives both cores many groups.
         */
        int groupTiles() {
            return panels() == 1 ? 1 : GROUP_TILES;
        }

        int padded() {
            return panels() * PANEL;
        }

        /** Where column block {@code k0} of panel {@code p} starts: blocks of full width precede it. */
        int panelStart(int k0, int p) {
            return (k0 * panels() + p * Math.min(K_BLOCK, w.cols() - k0)) * PANEL;
        }

        /** Column blocks of width {@link #K_BLOCK}, the last one narrower. */
        int columnBlocks() {
            return Math.ceilDiv(w.cols(), K_BLOCK);
        }

        /**
         * packed[panelStart(k0, p) + k·PANEL + lane] = x[i0 + p·PANEL + lane, k0 + k], for the column blocks
         * {@code [from, to)} counted panel by panel: split finer than panels, so that both cores pack one panel.
         */
        void pack(int from, int to) {
            for (int u = from; u < to; u++) {
                int p = u / columnBlocks();
                int k0 = u % columnBlocks() * K_BLOCK;
                int kc = Math.min(K_BLOCK, w.cols() - k0);
                // A few columns for all lanes at a time, so that the destination lines stay in L1.
                for (int kk = 0; kk < kc; kk += F.length()) {
                    for (int lane = 0; lane < PANEL; lane++) {
                        packColumns(p * PANEL + lane, k0 + kk, Math.min(F.length(), kc - kk),
                                panelStart(k0, p) + kk * PANEL + lane);
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
                group(g * groupTiles() * TILE_ROWS, scratch);
            }
        }

        /** Columns {@code [o0, o0 + groupTiles()·TILE_ROWS)} of y, clipped to its width. */
        private void group(int o0, Scratch scratch) {
            int in = w.cols();
            int cols = Math.min(groupTiles() * TILE_ROWS, w.rows() - o0);
            int tiles = Math.ceilDiv(cols, TILE_ROWS);
            float[] weights = scratch.weights(tiles * TILE_ROWS * K_BLOCK);
            // Whole vectors of columns: the gathers in store() check every lane's index, masked or not.
            float[] sums = scratch.sums(Math.ceilDiv(tiles * TILE_ROWS, F.length()) * F.length() * padded());
            Arrays.fill(sums, 0, tiles * TILE_ROWS * padded(), 0f);
            for (int k0 = 0; k0 < in; k0 += K_BLOCK) {
                int kc = Math.min(K_BLOCK, in - k0);
                widen(o0, tiles, k0, kc, weights);
                for (int p = 0; p < panels(); p++) {
                    for (int t = 0; t < tiles; t++) {
                        kernel(weights, t * TILE_ROWS * K_BLOCK, kc, packed, panelStart(k0, p), sums,
                                t * TILE_ROWS * padded() + p * PANEL, padded());
                    }
                }
            }
            store(sums, o0, cols, scratch.strides(padded()));
        }

        /**
         * Columns {@code [k0, k0 + kc)} of the group's weight rows widened to f32, K_BLOCK apart, just before the
         * kernels read them (from L1 or L2, not from a group-sized scratch in memory); past the last weight row the
         * last one is widened again.
         */
        private void widen(int o0, int tiles, int k0, int kc, float[] weights) {
            int in = w.cols();
            for (int r = 0; r < tiles * TILE_ROWS; r++) {
                long row = Math.min(o0 + r, w.rows() - 1);
                Widen.widen(w.dtype(), w.data(), row * in + k0, weights, r * K_BLOCK, kc);
            }
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
     * lane] += Σ_{k<kc} weights[w + r·K_BLOCK + k] · packed[start + k·PANEL + lane]}. 24 named accumulators
     * (of the 32 vector registers) so that they stay in registers: 12 weight rows per load of x halve the loads
     * of 6 rows, which limited the single-panel case.
     */
    private static void kernel(float[] weights, int w, int kc, float[] packed, int start, float[] sums, int at,
            int stride) {
        VectorSpecies<Float> s = F;
        int lanes = s.length();
        FloatVector lo0 = FloatVector.fromArray(s, sums, at);
        FloatVector hi0 = FloatVector.fromArray(s, sums, at + lanes);
        FloatVector lo1 = FloatVector.fromArray(s, sums, at + stride);
        FloatVector hi1 = FloatVector.fromArray(s, sums, at + stride + lanes);
        FloatVector lo2 = FloatVector.fromArray(s, sums, at + 2 * stride);
        FloatVector hi2 = FloatVector.fromArray(s, sums, at + 2 * stride + lanes);
        FloatVector lo3 = FloatVector.fromArray(s, sums, at + 3 * stride);
        FloatVector hi3 = FloatVector.fromArray(s, sums, at + 3 * stride + lanes);
        FloatVector lo4 = FloatVector.fromArray(s, sums, at + 4 * stride);
        FloatVector hi4 = FloatVector.fromArray(s, sums, at + 4 * stride + lanes);
        FloatVector lo5 = FloatVector.fromArray(s, sums, at + 5 * stride);
        FloatVector hi5 = FloatVector.fromArray(s, sums, at + 5 * stride + lanes);
        FloatVector lo6 = FloatVector.fromArray(s, sums, at + 6 * stride);
        FloatVector hi6 = FloatVector.fromArray(s, sums, at + 6 * stride + lanes);
        FloatVector lo7 = FloatVector.fromArray(s, sums, at + 7 * stride);
        FloatVector hi7 = FloatVector.fromArray(s, sums, at + 7 * stride + lanes);
        FloatVector lo8 = FloatVector.fromArray(s, sums, at + 8 * stride);
        FloatVector hi8 = FloatVector.fromArray(s, sums, at + 8 * stride + lanes);
        FloatVector lo9 = FloatVector.fromArray(s, sums, at + 9 * stride);
        FloatVector hi9 = FloatVector.fromArray(s, sums, at + 9 * stride + lanes);
        FloatVector lo10 = FloatVector.fromArray(s, sums, at + 10 * stride);
        FloatVector hi10 = FloatVector.fromArray(s, sums, at + 10 * stride + lanes);
        FloatVector lo11 = FloatVector.fromArray(s, sums, at + 11 * stride);
        FloatVector hi11 = FloatVector.fromArray(s, sums, at + 11 * stride + lanes);
        for (int k = 0; k < kc; k++) {
            int x = start + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(s, packed, x);
            FloatVector x1 = FloatVector.fromArray(s, packed, x + lanes);
            FloatVector b = FloatVector.broadcast(s, weights[w + k]);
            lo0 = b.fma(x0, lo0);
            hi0 = b.fma(x1, hi0);
            b = FloatVector.broadcast(s, weights[w + K_BLOCK + k]);
            lo1 = b.fma(x0, lo1);
            hi1 = b.fma(x1, hi1);
            b = FloatVector.broadcast(s, weights[w + 2 * K_BLOCK + k]);
            lo2 = b.fma(x0, lo2);
            hi2 = b.fma(x1, hi2);
            b = FloatVector.broadcast(s, weights[w + 3 * K_BLOCK + k]);
            lo3 = b.fma(x0, lo3);
            hi3 = b.fma(x1, hi3);
            b = FloatVector.broadcast(s, weights[w + 4 * K_BLOCK + k]);
            lo4 = b.fma(x0, lo4);
            hi4 = b.fma(x1, hi4);
            b = FloatVector.broadcast(s, weights[w + 5 * K_BLOCK + k]);
            lo5 = b.fma(x0, lo5);
            hi5 = b.fma(x1, hi5);
            b = FloatVector.broadcast(s, weights[w + 6 * K_BLOCK + k]);
            lo6 = b.fma(x0, lo6);
            hi6 = b.fma(x1, hi6);
            b = FloatVector.broadcast(s, weights[w + 7 * K_BLOCK + k]);
            lo7 = b.fma(x0, lo7);
            hi7 = b.fma(x1, hi7);
            b = FloatVector.broadcast(s, weights[w + 8 * K_BLOCK + k]);
            lo8 = b.fma(x0, lo8);
            hi8 = b.fma(x1, hi8);
            b = FloatVector.broadcast(s, weights[w + 9 * K_BLOCK + k]);
            lo9 = b.fma(x0, lo9);
            hi9 = b.fma(x1, hi9);
            b = FloatVector.broadcast(s, weights[w + 10 * K_BLOCK + k]);
            lo10 = b.fma(x0, lo10);
            hi10 = b.fma(x1, hi10);
            b = FloatVector.broadcast(s, weights[w + 11 * K_BLOCK + k]);
            lo11 = b.fma(x0, lo11);
            hi11 = b.fma(x1, hi11);
        }
        lo0.intoArray(sums, at);
        hi0.intoArray(sums, at + lanes);
        lo1.intoArray(sums, at + stride);
        hi1.intoArray(sums, at + stride + lanes);
        lo2.intoArray(sums, at + 2 * stride);
        hi2.intoArray(sums, at + 2 * stride + lanes);
        lo3.intoArray(sums, at + 3 * stride);
        hi3.intoArray(sums, at + 3 * stride + lanes);
        lo4.intoArray(sums, at + 4 * stride);
        hi4.intoArray(sums, at + 4 * stride + lanes);
        lo5.intoArray(sums, at + 5 * stride);
        hi5.intoArray(sums, at + 5 * stride + lanes);
        lo6.intoArray(sums, at + 6 * stride);
        hi6.intoArray(sums, at + 6 * stride + lanes);
        lo7.intoArray(sums, at + 7 * stride);
        hi7.intoArray(sums, at + 7 * stride + lanes);
        lo8.intoArray(sums, at + 8 * stride);
        hi8.intoArray(sums, at + 8 * stride + lanes);
        lo9.intoArray(sums, at + 9 * stride);
        hi9.intoArray(sums, at + 9 * stride + lanes);
        lo10.intoArray(sums, at + 10 * stride);
        hi10.intoArray(sums, at + 10 * stride + lanes);
        lo11.intoArray(sums, at + 11 * stride);
        hi11.intoArray(sums, at + 11 * stride + lanes);
    }
}
