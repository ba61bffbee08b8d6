package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.flexllm.tensor.Tensor;

/**
 * {@link Matmul} for many rows of x: arithmetic-bound, so the work is arranged for the FMA units.
 *
 * <p>The micro-kernel computes a tile of yᵀ: {@value #TILE_ROWS} weight rows × {@link #PANEL} rows of x
 * (two vectors), in 12 vector accumulators. At each k it loads the x panel's two vectors and broadcasts
 * one f32 weight per weight row; no horizontal reductions and no tails in the inner loop. For that, x is
 * first packed into panels, {@code PANEL} rows transposed so that column k is contiguous (zero rows pad the
 * last panel), and each tile's weight rows are widened to f32 once per row block and reused by all its
 * panels. Blocking keeps the working set in cache: {@value #ROW_BLOCK} rows of x at a time, and
 * {@value #K_BLOCK} columns at a time so that a block of packed x stays in L2 while the weight tiles pass.
 * The cores split the weight tiles.
 */
final class Gemm {
    static final int TILE_ROWS = 6;
    static final int PANEL = 2 * F.length();
    static final int ROW_BLOCK = 256;
    static final int K_BLOCK = 1024;

    private Gemm() {}

    static void multiply(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        for (int i0 = 0; i0 < n; i0 += ROW_BLOCK) {
            Block block = new Block(x, n, w, y, accumulate, i0, Math.min(ROW_BLOCK, n - i0),
                    Scratch.get().packed(Math.ceilDiv(Math.min(ROW_BLOCK, n - i0), PANEL) * PANEL * w.cols()));
            Parallel.forRange(block.panels(), block::pack);
            Parallel.forRange(Math.ceilDiv(w.rows(), TILE_ROWS), block::multiply);
        }
    }

    /** Rows {@code [i0, i0 + rows)} of x and y, with x packed into {@code packed}. */
    private record Block(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate, int i0, int rows,
            float[] packed) {

        int panels() {
            return Math.ceilDiv(rows, PANEL);
        }

        int in() {
            return w.cols();
        }

        /** Where column block {@code k0} of panel {@code p} starts: blocks of full width precede it. */
        int panelStart(int k0, int p) {
            return (k0 * panels() + p * Math.min(K_BLOCK, in() - k0)) * PANEL;
        }

        /** Transposes panels {@code [from, to)}: packed[panelStart + k·PANEL + lane] = x[i0 + p·PANEL + lane, k0 + k]. */
        void pack(int from, int to) {
            for (int p = from; p < to; p++) {
                for (int k0 = 0; k0 < in(); k0 += K_BLOCK) {
                    int start = panelStart(k0, p);
                    int kc = Math.min(K_BLOCK, in() - k0);
                    for (int lane = 0; lane < PANEL; lane++) {
                        int row = p * PANEL + lane;
                        for (int k = 0; k < kc; k++) {
                            packed[start + k * PANEL + lane] = row < rows
                                    ? x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED,
                                            (long) (i0 + row) * in() + k0 + k)
                                    : 0f;
                        }
                    }
                }
            }
        }

        /** Weight tiles {@code [from, to)} against all panels. */
        void multiply(int from, int to) {
            Scratch scratch = Scratch.get();
            int out = w.rows();
            for (int k0 = 0; k0 < in(); k0 += K_BLOCK) {
                int kc = Math.min(K_BLOCK, in() - k0);
                float[] weights = scratch.weights(TILE_ROWS * kc);
                for (int t = from; t < to; t++) {
                    for (int r = 0; r < TILE_ROWS; r++) {
                        long row = Math.min(t * TILE_ROWS + r, out - 1);
                        Widen.widen(w.dtype(), w.data(), row * in() + k0, weights, r * kc, kc);
                    }
                    for (int p = 0; p < panels(); p++) {
                        kernel(weights, kc, packed, panelStart(k0, p), scratch.tile());
                        store(scratch.tile(), t * TILE_ROWS, p * PANEL, accumulate || k0 > 0);
                    }
                }
            }
        }

        /** Writes the tile of yᵀ to y: columns from {@code o}, rows from {@code i0 + row}, clipped to the shapes. */
        private void store(float[] tile, int o, int row, boolean add) {
            int out = w.rows();
            int cols = Math.min(TILE_ROWS, out - o);
            int tileRows = Math.min(PANEL, rows - row);
            for (int r = 0; r < cols; r++) {
                for (int lane = 0; lane < tileRows; lane++) {
                    Matmul.store(y, (long) (i0 + row + lane) * out + o + r, tile[r * PANEL + lane], add);
                }
            }
        }
    }

    /**
     * One tile: {@code tile[r·PANEL + lane] = Σ_k weights[r·kc + k] · packed[start + k·PANEL + lane]}.
     * Twelve named accumulators so that they stay in registers.
     */
    private static void kernel(float[] weights, int kc, float[] packed, int start, float[] tile) {
        VectorSpecies<Float> s = F;
        int lanes = s.length();
        FloatVector c00 = FloatVector.zero(s), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < kc; k++) {
            int at = start + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(s, packed, at);
            FloatVector x1 = FloatVector.fromArray(s, packed, at + lanes);
            FloatVector b = FloatVector.broadcast(s, weights[k]);
            c00 = b.fma(x0, c00);
            c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(s, weights[kc + k]);
            c10 = b.fma(x0, c10);
            c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(s, weights[2 * kc + k]);
            c20 = b.fma(x0, c20);
            c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(s, weights[3 * kc + k]);
            c30 = b.fma(x0, c30);
            c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(s, weights[4 * kc + k]);
            c40 = b.fma(x0, c40);
            c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(s, weights[5 * kc + k]);
            c50 = b.fma(x0, c50);
            c51 = b.fma(x1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, lanes);
        c10.intoArray(tile, PANEL);
        c11.intoArray(tile, PANEL + lanes);
        c20.intoArray(tile, 2 * PANEL);
        c21.intoArray(tile, 2 * PANEL + lanes);
        c30.intoArray(tile, 3 * PANEL);
        c31.intoArray(tile, 3 * PANEL + lanes);
        c40.intoArray(tile, 4 * PANEL);
        c41.intoArray(tile, 4 * PANEL + lanes);
        c50.intoArray(tile, 5 * PANEL);
        c51.intoArray(tile, 5 * PANEL + lanes);
    }
}
