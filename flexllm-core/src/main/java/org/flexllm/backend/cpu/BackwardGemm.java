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
import jdk.incubator.vector.VectorMask;
import org.flexllm.tensor.DType;

/**
 * {@code C[m, n] (+)= A[m, k] · B[k, n]} with B row-major, read a segment of a row at a time: the gradients of a
 * Linear. For {@code dx = dy·W}, A is dy and B is W in its stored dtype; for {@code dW += dyᵀ·x}, A is dyᵀ and B
 * is x. Arithmetic-bound like {@link Gemm} and built on the same {@link MicroKernel} with the roles turned: a tile
 * is {@value MicroKernel#ROWS} rows of A, broadcast, against a panel of {@link MicroKernel#PANEL} columns of B, so
 * that the tile's sums are a block of C itself.
 * <ul>
 *   <li>A is packed {@value #ROW_BLOCK} rows by {@value #COLUMN_CHUNK} columns at a time (which bounds the scratch),
 *       each row cut into column blocks of {@value MicroKernel#DEPTH}; zero rows pad the last tile;
 *   <li>a work item is a group of {@value #GROUP_PANELS} panels (columns of C) and a range of tiles. Per column
 *       block of A it widens the group's segment of those rows of B into panels, and each panel meets all the
 *       item's tiles while it is in L1 (the packed A comes from L2);
 *   <li>the item's block of C accumulates in scratch across the column blocks and is written once, a row at a time.
 * </ul>
 * The cores split the column groups, and the tiles too when there are too few groups (a narrow C, such as a LoRA
 * gradient); each split of a group widens its own copy of the group's panels.
 */
final class BackwardGemm {
    static final int GROUP_PANELS = 16;
    static final int ROW_BLOCK = 512;
    static final int COLUMN_CHUNK = 32 * DEPTH;
    /** Work items wanted per thread, so that a core slowed by another process takes fewer. */
    private static final int ITEMS_PER_THREAD = 2;

    private BackwardGemm() {}

    /**
     * The operands, all row-major from offset 0. A transposed A is packed an element at a time, a transposed C
     * written with gathers: fine for a narrow A (a LoRA rank wide), slower than the plain layouts.
     *
     * @param a           f32 {@code [m, k]}, or {@code [k, m]} when {@code aTransposed}
     * @param bType       the dtype B is stored in; widened to f32 as it is read
     * @param b           {@code [k, n]}
     * @param c           f32 {@code [m, n]}, or {@code [n, m]} when {@code cTransposed}
     */
    record Product(MemorySegment a, boolean aTransposed, DType bType, MemorySegment b, int m, int k, int n,
            MemorySegment c, boolean cTransposed) {}

    /** {@code C = A·B}, or {@code C += A·B} when {@code accumulate}. */
    static void multiply(Product product, boolean accumulate) {
        int groups = Math.ceilDiv(product.n(), GROUP_PANELS * PANEL);
        // At least one chunk, so that an empty product (k = 0) still writes C.
        int chunks = Math.max(1, Math.ceilDiv(product.k(), COLUMN_CHUNK));
        for (int m0 = 0; m0 < product.m(); m0 += ROW_BLOCK) {
            int rows = Math.min(ROW_BLOCK, product.m() - m0);
            int tiles = Math.ceilDiv(rows, ROWS);
            int splits = Math.clamp(Math.ceilDiv(ITEMS_PER_THREAD * Parallel.threads(), groups), 1, tiles);
            for (int chunk = 0; chunk < chunks; chunk++) {
                int k0 = chunk * COLUMN_CHUNK;
                int depth = Math.min(COLUMN_CHUNK, product.k() - k0);
                float[] packed = Scratch.get().packed(Math.ceilDiv(depth, DEPTH) * tiles * ROWS * DEPTH);
                Block block = new Block(product, accumulate || chunk > 0, m0, rows, k0, depth, splits, packed);
                Parallel.forRange(Math.ceilDiv(depth, DEPTH) * tiles, block::pack);
                Parallel.forRange(groups * splits, block::multiply);
            }
        }
    }

    /**
     * Rows {@code [m0, m0 + rows)} of A and C against columns {@code [k0, k0 + depth)} of A (rows of B), that part of
     * A packed into {@code packed}, the tiles split {@code splits} ways.
     */
    private record Block(Product product, boolean accumulate, int m0, int rows, int k0, int depth, int splits,
            float[] packed) {

        int tiles() {
            return Math.ceilDiv(rows, ROWS);
        }

        /** Where row {@code row} of the block's A starts in {@code packed}, for the column block at {@code kb}. */
        int packedRow(int kb, int row) {
            return (kb / DEPTH * tiles() * ROWS + row) * DEPTH;
        }

        /**
         * packed[packedRow(kb, row) + j] = A[m0 + row, k0 + kb + j] for the (column block, tile) pairs
         * {@code [from, to)}, zeros past the last row.
         */
        void pack(int from, int to) {
            for (int u = from; u < to; u++) {
                int kb = u / tiles() * DEPTH;
                int kc = Math.min(DEPTH, depth - kb);
                for (int row = u % tiles() * ROWS, end = row + ROWS; row < end; row++) {
                    packRow(row, k0 + kb, kc, packedRow(kb, row));
                }
            }
        }

        /** Columns {@code [col, col + kc)} of row {@code row} of the block's A to {@code packed[dst]}. */
        private void packRow(int row, int col, int kc, int dst) {
            MemorySegment a = product.a();
            if (row >= rows) {
                Arrays.fill(packed, dst, dst + kc, 0f);
            } else if (!product.aTransposed()) {
                long src = ((long) (m0 + row) * product.k() + col) * Float.BYTES;
                MemorySegment.copy(a, ValueLayout.JAVA_FLOAT_UNALIGNED, src, packed, dst, kc);
            } else {
                for (int j = 0; j < kc; j++) {
                    packed[dst + j] = VectorMath.get(a, (long) (col + j) * product.m() + m0 + row);
                }
            }
        }

        /** Work items {@code [from, to)}: item u is column group {@code u / splits}, tile split {@code u % splits}. */
        void multiply(int from, int to) {
            Scratch scratch = Scratch.get();
            for (int u = from; u < to; u++) {
                int split = u % splits;
                item(u / splits * GROUP_PANELS * PANEL, split * tiles() / splits, (split + 1) * tiles() / splits,
                        scratch);
            }
        }

        /** Columns {@code [c0, c0 + GROUP_PANELS·PANEL)} of C, clipped to its width, for tiles {@code [t0, t1)}. */
        private void item(int c0, int t0, int t1, Scratch scratch) {
            int cols = Math.min(GROUP_PANELS * PANEL, product.n() - c0);
            int panels = Math.ceilDiv(cols, PANEL);
            int height = (t1 - t0) * ROWS;
            float[] widened = scratch.weights(panels * DEPTH * PANEL);
            float[] row = scratch.row(panels * PANEL);
            // Room past the end for the gathers of a transposed store, which check every lane's index, masked or not.
            float[] sums = scratch.sums((panels * height + F.length()) * PANEL);
            Arrays.fill(sums, 0, panels * height * PANEL, 0f);
            for (int kb = 0; kb < depth; kb += DEPTH) {
                int kc = Math.min(DEPTH, depth - kb);
                widen(k0 + kb, kc, c0, cols, widened, row);
                for (int p = 0; p < panels; p++) {
                    for (int t = t0; t < t1; t++) {
                        MicroKernel.multiply(packed, packedRow(kb, t * ROWS), kc, widened, p * DEPTH * PANEL, sums,
                                (p * height + (t - t0) * ROWS) * PANEL, PANEL);
                    }
                }
            }
            if (product.cTransposed()) {
                storeColumns(sums, c0, cols, t0 * ROWS, height, scratch.strides(PANEL));
            } else {
                storeRows(sums, c0, cols, t0 * ROWS, height);
            }
        }

        /**
         * widened[(p·DEPTH + j)·PANEL + lane] = B[first + j, c0 + p·PANEL + lane] for {@code j < kc}: each row segment
         * widened in one call (calls per panel would cost as much as the widening) and then cut into the panels.
         * Lanes past C's last column hold whatever {@code row} held: their sums are never stored.
         */
        private void widen(int first, int kc, int c0, int cols, float[] widened, float[] row) {
            for (int j = 0; j < kc; j++) {
                Widen.widen(product.bType(), product.b(), (long) (first + j) * product.n() + c0, row, 0, cols);
                for (int p = 0; p * PANEL < cols; p++) {
                    System.arraycopy(row, p * PANEL, widened, (p * DEPTH + j) * PANEL, PANEL);
                }
            }
        }

        /** C[m0 + r0 + i, c0 + col] (+)= sums[(col / PANEL · height + i)·PANEL + col % PANEL], rows past m left out. */
        private void storeRows(float[] sums, int c0, int cols, int r0, int height) {
            for (int i = 0; i < Math.min(height, rows - r0); i++) {
                long ci = ((long) (m0 + r0 + i) * product.n() + c0) * Float.BYTES;
                for (int col = 0; col < cols; col += F.length()) {
                    putRow(sums, (col / PANEL * height + i) * PANEL + col % PANEL, ci + (long) col * Float.BYTES,
                            col, cols);
                }
            }
        }

        /** The same sums into a transposed C, a column of the block at a time: lane j gathered j·PANEL further on. */
        private void storeColumns(float[] sums, int c0, int cols, int r0, int height, int[] strides) {
            int count = Math.min(height, rows - r0);
            for (int col = 0; col < cols; col++) {
                long ci = ((long) (c0 + col) * product.m() + m0 + r0) * Float.BYTES;
                int at = col / PANEL * height * PANEL + col % PANEL;
                int vectorEnd = count - count % F.length();
                for (int i = 0; i < vectorEnd; i += F.length()) {
                    putColumn(sums, at + i * PANEL, strides, ci + (long) i * Float.BYTES);
                }
                // The tail a float at a time: C2 compiles no masked gather without AVX-512, and the Vector API's
                // Java fallback allocates arrays for every call.
                for (int i = vectorEnd; i < count; i++) {
                    Matmul.store(product.c(), ci / Float.BYTES + i, sums[at + i * PANEL], accumulate);
                }
            }
        }

        // putRow and putColumn load, add and store within one method, and take no vector or mask argument: a
        // vector passed to a method C2 does not inline (one already compiled big, say) is boxed, and the Vector
        // API then falls back to Java code that allocates arrays for every operation.

        /** Lanes {@code [lane, min(lane + F.length(), lanes))} of sums from {@code at} to C at byte {@code offset}. */
        private void putRow(float[] sums, int at, long offset, int lane, int lanes) {
            VectorMask<Float> inRange = F.indexInRange(lane, lanes);
            FloatVector v = FloatVector.fromArray(F, sums, at, inRange);
            if (accumulate) {
                v = v.add(FloatVector.fromMemorySegment(F, product.c(), offset, LE, inRange));
            }
            v.intoMemorySegment(product.c(), offset, LE, inRange);
        }

        /** A whole vector of C at byte {@code offset}, lane j of sums read at {@code at + strides[j]}. */
        private void putColumn(float[] sums, int at, int[] strides, long offset) {
            FloatVector v = FloatVector.fromArray(F, sums, at, strides, 0);
            if (accumulate) {
                v = v.add(FloatVector.fromMemorySegment(F, product.c(), offset, LE));
            }
            v.intoMemorySegment(product.c(), offset, LE);
        }
    }
}
