package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.MicroKernel.DEPTH;
import static org.flexllm.backend.cpu.MicroKernel.PANEL;
import static org.flexllm.backend.cpu.MicroKernel.ROWS;
import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for many rows of x: arithmetic-bound, so the work is arranged for the FMA units.
 *
 * <p>The {@link MicroKernel} computes a tile of yᵀ, {@value MicroKernel#ROWS} weight rows × {@link MicroKernel#PANEL}
 * rows of x, broadcasting one f32 weight per weight row against two vectors of x. For that:
 * <ul>
 *   <li>x is packed into panels of {@code PANEL} rows, transposed so that a column is contiguous; zero rows
 *       pad the last panel;
 *   <li>weight rows are widened to f32 into scratch a column block of the constant width
 *       {@value MicroKernel#DEPTH} at a time, the layout the kernel's rows of a need;
 *   <li>tiles run in groups (see {@link Block#groupTiles}): per column block, each x panel meets all the
 *       group's tiles in turn, so that it is read from L1 while the widened weights come from L2;
 *   <li>the group's yᵀ accumulates in scratch across column blocks and is written to y once, a row at a time
 *       (writing yᵀ tiles straight into y would scatter each result over 32 rows whose power-of-two stride
 *       maps them into the same L1 set).
 * </ul>
 * {@value #ROW_BLOCK} rows of x are packed at a time, which bounds the scratch. The cores split the groups.
 */
final class Gemm {
    static final int GROUP_TILES = 16;
    static final int ROW_BLOCK = 512;

    private Gemm() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        for (int i0 = 0; i0 < n; i0 += ROW_BLOCK) {
            int rows = Math.min(ROW_BLOCK, n - i0);
            int padded = Math.ceilDiv(rows, PANEL) * PANEL;
            Block block = new Block(x, w, y, accumulate, i0, rows, Scratch.get().packed(padded * w.cols()));
            Parallel.forRange(block.panels() * block.columnBlocks(), block::pack);
            Parallel.forRange(Math.ceilDiv(w.rows(), block.groupTiles() * ROWS), block::multiply);
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
            return (k0 * panels() + p * Math.min(DEPTH, w.cols() - k0)) * PANEL;
        }

        /** Column blocks of width {@link MicroKernel#DEPTH}, the last one narrower. */
        int columnBlocks() {
            return Math.ceilDiv(w.cols(), DEPTH);
        }

        /**
         * packed[panelStart(k0, p) + k·PANEL + lane] = x[i0 + p·PANEL + lane, k0 + k], for the column blocks
         * {@code [from, to)} counted panel by panel: split finer than panels, so that both cores pack one panel.
         */
        void pack(int from, int to) {
            for (int u = from; u < to; u++) {
                int p = u / columnBlocks();
                int k0 = u % columnBlocks() * DEPTH;
                int kc = Math.min(DEPTH, w.cols() - k0);
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
                group(g * groupTiles() * ROWS, scratch);
            }
        }

        /** Columns {@code [o0, o0 + groupTiles()·ROWS)} of y, clipped to its width. */
        private void group(int o0, Scratch scratch) {
            int in = w.cols();
            int cols = Math.min(groupTiles() * ROWS, w.rows() - o0);
            int tiles = Math.ceilDiv(cols, ROWS);
            float[] weights = scratch.weights(tiles * ROWS * DEPTH);
            // Whole vectors of columns: the gathers in store() check every lane's index, masked or not.
            float[] sums = scratch.sums(Math.ceilDiv(tiles * ROWS, F.length()) * F.length() * padded());
            Arrays.fill(sums, 0, tiles * ROWS * padded(), 0f);
            for (int k0 = 0; k0 < in; k0 += DEPTH) {
                int kc = Math.min(DEPTH, in - k0);
                widen(o0, tiles, k0, kc, weights);
                for (int p = 0; p < panels(); p++) {
                    for (int t = 0; t < tiles; t++) {
                        MicroKernel.multiply(weights, t * ROWS * DEPTH, kc, packed, panelStart(k0, p), sums,
                                t * ROWS * padded() + p * PANEL, padded());
                    }
                }
            }
            store(sums, o0, cols, scratch.strides(padded()));
        }

        /**
         * Columns {@code [k0, k0 + kc)} of the group's weight rows widened to f32, DEPTH apart, just before the
         * kernels read them (from L1 or L2, not from a group-sized scratch in memory); past the last weight row the
         * last one is widened again.
         */
        private void widen(int o0, int tiles, int k0, int kc, float[] weights) {
            int in = w.cols();
            for (int r = 0; r < tiles * ROWS; r++) {
                long row = Math.min(o0 + r, w.rows() - 1);
                Widen.widen(w.dtype(), w.data(), row * in + k0, weights, r * DEPTH, kc);
            }
        }

        /**
         * y[i0 + i, o0 + c] (+)= sums[c·padded + i]: the group's yᵀ written to y a row at a time, each vector of
         * y gathered from {@code sums} with {@code columns} (lane j reads j·padded further on).
         */
        private void store(float[] sums, int o0, int cols, int[] columns) {
            int out = w.rows();
            int vectorEnd = cols - cols % F.length();
            for (int i = 0; i < rows; i++) {
                long yi = (long) (i0 + i) * out + o0;
                for (int c = 0; c < vectorEnd; c += F.length()) {
                    storeVector(sums, c * padded() + i, columns, yi + c);
                }
                // The tail a float at a time: C2 compiles no masked gather without AVX-512, and the Vector API's
                // Java fallback allocates arrays for every call.
                for (int c = vectorEnd; c < cols; c++) {
                    Matmul.store(y, yi + c, sums[c * padded() + i], accumulate);
                }
            }
        }

        /** y[index + j] (+)= sums[at + columns[j]] for each lane j. */
        private void storeVector(float[] sums, int at, int[] columns, long index) {
            FloatVector v = FloatVector.fromArray(F, sums, at, columns, 0);
            if (accumulate) {
                v = v.add(FloatVector.fromMemorySegment(F, y, index * Float.BYTES, LE));
            }
            v.intoMemorySegment(y, index * Float.BYTES, LE);
        }
    }
}
