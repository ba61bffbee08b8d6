package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class MatmulTest {
    /**
     * Shapes around every boundary: vector length, GEMV/GEMM switch, panel, tile, group, row and column blocks;
     * and every row count of the GEMV (each x tile and remainder) over more than two of its column chunks, with
     * a tail of columns and a last group of five weight rows.
     */
    static Stream<Arguments> shapes() {
        int[][] gemv = IntStream.rangeClosed(1, Matmul.GEMV_MAX_ROWS)
                .mapToObj(n -> new int[] {n, 2 * Gemv.CHUNK + 19, 13}).toArray(int[][]::new);
        int[][] shapes = {
            {1, 8, 1}, {1, 16, 4}, {1, 17, 5}, {1, 100, 33}, {1, 2053, 7},
            {2, 8, 3}, {3, 31, 9}, {4, 64, 4}, {5, 8, 1}, {5, 33, 6},
            {7, 15, 13}, {16, 40, 9}, {17, 33, 8}, {31, 48, 7}, {32, 16, 12}, {33, 1030, 5}, {64, 19, 97},
            {24, 300, 25}, {255, 9, 2}, {257, 40, 11}, {513, 24, 6}, {40, 2049, 14}, {37, 260, 390},
        };
        return TestData.everyDtypeAndAccumulate(Stream.concat(Arrays.stream(shapes), Arrays.stream(gemv))
                .toArray(int[][]::new));
    }

    @ParameterizedTest(name = "{0} n={1} in={2} out={3} accumulate={4}")
    @MethodSource("shapes")
    void matchesDoublePrecisionReference(DType dtype, int n, int in, int out, boolean accumulate) {
        Random random = new Random(31L * n + 17L * in + out);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = TestData.floats(arena, random, (long) n * in);
            Tensor w = TestData.matrix(arena, random, dtype, out, in);
            MemorySegment y = TestData.floats(arena, random, (long) n * out);
            MemorySegment before = arena.allocate(y.byteSize()).copyFrom(y);

            Matmul.matmul(x, n, w, y, accumulate);

            for (int i = 0; i < n; i++) {
                for (int o = 0; o < out; o++) {
                    double expected = accumulate ? TestData.get(before, (long) i * out + o) : 0;
                    double magnitude = Math.abs(expected);
                    for (int k = 0; k < in; k++) {
                        double product = (double) TestData.get(x, (long) i * in + k) * w.getFloat((long) o * in + k);
                        expected += product;
                        magnitude += Math.abs(product);
                    }
                    assertEquals(expected, TestData.get(y, (long) i * out + o), 1e-5 * magnitude + 1e-30,
                            "y[" + i + ", " + o + "]");
                }
            }
        }
    }

    /**
     * A row of y has the same bits whichever other rows of x come with it: computed in a batch of n (in whichever
     * x tile of the GEMV it lands) and alone.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void aRowHasTheSameBitsInEveryBatch(DType dtype) {
        int in = Gemv.CHUNK + 37;
        int out = 11;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(3);
            Tensor w = TestData.matrix(arena, random, dtype, out, in);
            int most = Matmul.GEMV_MAX_ROWS;
            MemorySegment x = TestData.floats(arena, random, (long) most * in);
            MemorySegment alone = arena.allocate((long) out * Float.BYTES);
            for (int n = 1; n <= most; n++) {
                MemorySegment y = arena.allocate((long) n * out * Float.BYTES);
                Matmul.matmul(x, n, w, y, false);
                for (int i = 0; i < n; i++) {
                    Matmul.matmul(x.asSlice((long) i * in * Float.BYTES), 1, w, alone, false);
                    for (int o = 0; o < out; o++) {
                        assertEquals(Float.floatToRawIntBits(TestData.get(alone, o)),
                                Float.floatToRawIntBits(TestData.get(y, (long) i * out + o)),
                                "y[" + i + ", " + o + "] of " + n + " rows");
                    }
                }
            }
        }
    }

    @Test
    void leavesMemoryPastTheOutputAlone() {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(5);
            for (int n : new int[] {1, 40}) {
                Tensor w = TestData.matrix(arena, random, DType.BF16, 7, 20);
                MemorySegment x = TestData.floats(arena, random, n * 20L);
                MemorySegment y = arena.allocate((n * 7L + 16) * Float.BYTES);
                y.asSlice(n * 7L * Float.BYTES).fill((byte) 0x55);

                Matmul.matmul(x, n, w, y, false);

                for (long b = n * 7L * Float.BYTES; b < y.byteSize(); b++) {
                    assertEquals((byte) 0x55, y.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b), "byte " + b);
                }
            }
        }
    }

    @Test
    void rejectsOperandsTooSmallForTheShapes() {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.matrix(arena, new Random(1), DType.F32, 4, 8);
            MemorySegment small = arena.allocate(8L * Float.BYTES);
            MemorySegment big = arena.allocate(64L * Float.BYTES);
            assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(small, 2, w, big, false));
            assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(big, 3, w, small, false));
            Tensor vector = new Tensor("v", DType.F32, Shape.of(32), big.asSlice(0, 32L * Float.BYTES));
            assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(big, 1, vector, big, false));
        }
    }
}
