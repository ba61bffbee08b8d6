package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernels over block-quantized weights equal a double-precision product over the dequantized weights: GEMV
 * (decode), GEMM (prefill), the gradient through a frozen quantized weight (LoRA's dx) and the embedding gather.
 */
class QuantizedKernelsTest {
    private static final double RELATIVE = 1e-4;

    /** Rows of x around the GEMV/GEMM switch and the panels; widths of one and several blocks and chunks. */
    static Stream<Arguments> cases() {
        int[][] shapes = {{1, 256, 5}, {3, 512, 9}, {16, 768, 4}, {17, 256, 13}, {40, 1280, 7}, {1, 1024, 33}};
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : List.of(DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K)) {
            for (int[] s : shapes) {
                cases.add(Arguments.of(dtype, s[0], s[1], s[2]));
            }
        }
        // Q8_0 and Q4_0 rows need only be whole blocks of 32.
        cases.add(Arguments.of(DType.Q8_0, 2, 96, 11));
        cases.add(Arguments.of(DType.Q4_0, 20, 160, 6));
        return cases.stream();
    }

    /** {@code y = x·Wᵀ} (GEMV or GEMM by n) and {@code dx = dy·W}, LoRA's gradient through the frozen weight. */
    @ParameterizedTest(name = "{0} n={1} in={2} out={3}")
    @MethodSource("cases")
    void productsMatchTheDequantizedProducts(DType dtype, int n, int in, int out) {
        Random random = new Random(7L * n + in + 31L * out);
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.quantized(arena, random, dtype, out, in);
            assertForwardProduct(arena, random, w, n);
            MemorySegment dy = TestData.floats(arena, random, (long) n * out);
            MemorySegment dx = arena.allocate((long) n * in * Float.BYTES, 64);
            Matmul.transposed(dy, n, w, dx, false);
            assertProduct(dtype + " dx", dy, n, out, in, (k, o) -> w.getFloat((long) o * in + k), dx);
        }
    }

    /**
     * Blocks of random bytes (see {@link TestData#arbitraryBlocks}): GEMV widening in registers (n ≤ 2) and into
     * scratch, and GEMM, on values no quantizer of ours wrote, against the double-precision product over their
     * scalar decoding.
     */
    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"Q8_0, 1", "Q8_0, 3", "Q4_0, 2", "Q4_0, 20", "Q4_K, 1", "Q4_K, 5", "Q6_K, 2", "Q6_K, 20"})
    void arbitraryBlocksMultiplyAsTheyDecode(DType dtype, int n) {
        Random random = new Random(11L * n + dtype.ordinal());
        try (Arena arena = Arena.ofShared()) {
            assertForwardProduct(arena, random, TestData.arbitraryBlocks(arena, random, dtype, 6, 768), n);
        }
    }

    /** {@code y = x·Wᵀ} for n random rows of x, against the double-precision product over W's scalar decoding. */
    private static void assertForwardProduct(Arena arena, Random random, Tensor w, int n) {
        int in = w.cols();
        int out = w.rows();
        MemorySegment x = TestData.floats(arena, random, (long) n * in);
        MemorySegment y = arena.allocate((long) n * out * Float.BYTES, 64);
        Matmul.matmul(x, n, w, y, false);
        assertProduct(w.dtype() + " y", x, n, in, out, (o, k) -> w.getFloat((long) o * in + k), y);
    }

    /**
     * The kernels' vector decoding of whole blocks, and the block-at-a-time decoding of the blocks a range cuts, give
     * the scalar decoder's floats bit for bit, for ranges that start and end inside blocks and on their edges.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void widenedRangesAreTheScalarDecodingExactly(DType dtype) {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.arbitraryBlocks(arena, new Random(dtype.ordinal()), dtype, 3, 1024);
            for (int[] range : new int[][] {{0, 3072}, {256, 512}, {37, 700}, {1000, 24}, {5, 3}}) {
                float[] widened = new float[range[1]];
                Widen.widen(dtype, w.data(), range[0], widened, 0, range[1]);
                for (int i = 0; i < range[1]; i++) {
                    assertEquals(Float.floatToRawIntBits(w.getFloat(range[0] + i)), Float.floatToRawIntBits(widened[i]),
                            dtype + " element " + (range[0] + i));
                }
            }
        }
    }

    /** One factor of a product, read by (result column, summed index). */
    private interface Factor {
        double at(int column, int k);
    }

    /** {@code result[i, j] = Σ_k left[i, k]·right(j, k)} in double, within {@value #RELATIVE} of Σ|products|. */
    private static void assertProduct(String what, MemorySegment left, int rows, int depth, int columns, Factor right,
            MemorySegment result) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < columns; j++) {
                double expected = 0;
                double magnitude = 0;
                for (int k = 0; k < depth; k++) {
                    double product = TestData.get(left, (long) i * depth + k) * right.at(j, k);
                    expected += product;
                    magnitude += Math.abs(product);
                }
                assertEquals(expected, TestData.get(result, (long) i * columns + j), RELATIVE * magnitude + 1e-30,
                        what + "[" + i + ", " + j + "]");
            }
        }
    }

    @ParameterizedTest(name = "{0} n={1} in={2} out={3}")
    @MethodSource("cases")
    void embeddingRowsAreTheDequantizedRows(DType dtype, int n, int in, int out) {
        try (Arena arena = Arena.ofShared()) {
            Tensor table = TestData.quantized(arena, new Random(n), dtype, out, in);
            MemorySegment row = arena.allocate((long) in * Float.BYTES);
            Widen.toFloat(table, out - 1, row, 0);
            for (int k = 0; k < in; k++) {
                assertEquals(table.getFloat((long) (out - 1) * in + k), TestData.get(row, k), dtype + " [" + k + "]");
            }
        }
    }
}
