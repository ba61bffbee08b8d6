package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MatmulGradientTest {
    /**
     * {@code {n, out, in}} around the tile height, panel width, column group, column block, column chunk and row
     * block, and an empty product (no weight rows).
     */
    private static final int[][] SHAPES = {
        {1, 8, 1}, {1, 17, 33}, {5, 3, 100}, {5, 300, 7}, {12, 16, 32}, {13, 31, 129}, {17, 257, 40},
        {33, 64, 130}, {100, 19, 97}, {100, 513, 65}, {24, 40, 600}, {530, 20, 35}, {13, 8200, 20}, {3, 0, 5},
    };

    static Stream<Arguments> transposedCases() {
        return TestData.everyDtypeAndAccumulate(SHAPES);
    }

    @ParameterizedTest(name = "{0} n={1} out={2} in={3} accumulate={4}")
    @MethodSource("transposedCases")
    void transposedMatchesDoublePrecisionReference(DType dtype, int n, int out, int in, boolean accumulate) {
        Random random = new Random(31L * n + 17L * out + in);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dy = TestData.floats(arena, random, (long) n * out);
            Tensor w = TestData.matrix(arena, random, dtype, out, in);
            MemorySegment dx = TestData.floats(arena, random, (long) n * in);
            MemorySegment before = arena.allocate(dx.byteSize()).copyFrom(dx);

            Matmul.transposed(dy, n, w, dx, accumulate);

            for (int t = 0; t < n; t++) {
                for (int i = 0; i < in; i++) {
                    double expected = accumulate ? TestData.get(before, (long) t * in + i) : 0;
                    double magnitude = Math.abs(expected);
                    for (int o = 0; o < out; o++) {
                        double product = (double) TestData.get(dy, (long) t * out + o) * w.getFloat((long) o * in + i);
                        expected += product;
                        magnitude += Math.abs(product);
                    }
                    assertEquals(expected, TestData.get(dx, (long) t * in + i), 1e-5 * magnitude + 1e-30,
                            "dx[" + t + ", " + i + "]");
                }
            }
        }
    }

    /** The forward kernels on the explicitly transposed weight compute the same product. */
    @ParameterizedTest(name = "n={0}")
    @MethodSource("rowCounts")
    void transposedEqualsTheForwardMatmulOfTheTransposedWeight(int n) {
        Random random = new Random(n);
        int out = 70;
        int in = 45;
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.matrix(arena, random, DType.BF16, out, in);
            MemorySegment wt = arena.allocate((long) in * out * DType.BF16.byteSize());
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    DTypes.write(DType.BF16, wt, (long) i * out + o, w.getFloat((long) o * in + i));
                }
            }
            MemorySegment dy = TestData.floats(arena, random, (long) n * out);
            MemorySegment viaForward = arena.allocate((long) n * in * Float.BYTES);
            MemorySegment viaBackward = arena.allocate((long) n * in * Float.BYTES);

            Matmul.matmul(dy, n, new Tensor("wᵀ", DType.BF16, Shape.of(in, out), wt), viaForward, false);
            Matmul.transposed(dy, n, w, viaBackward, false);

            for (long i = 0; i < (long) n * in; i++) {
                assertEquals(TestData.get(viaForward, i), TestData.get(viaBackward, i), 1e-4f, "dx[" + i + "]");
            }
        }
    }

    static Stream<Integer> rowCounts() {
        return Stream.of(1, 5, 16, 17, 33, 100);
    }

    /** LoRA-like shapes: a narrow {@code out} or {@code in} (the rank), the other side wide. */
    @ParameterizedTest(name = "n={0} out={1} in={2}")
    @MethodSource("weightGradientShapes")
    void weightGradientAddsDyTransposedTimesX(int n, int out, int in) {
        Random random = new Random(7L * n + 3L * out + in);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dy = TestData.floats(arena, random, (long) n * out);
            MemorySegment x = TestData.floats(arena, random, (long) n * in);
            MemorySegment dW = TestData.floats(arena, random, (long) out * in);
            MemorySegment before = arena.allocate(dW.byteSize()).copyFrom(dW);

            Matmul.weightGradient(dy, x, n, out, in, dW);

            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double expected = TestData.get(before, (long) o * in + i);
                    double magnitude = Math.abs(expected);
                    for (int t = 0; t < n; t++) {
                        double product = (double) TestData.get(dy, (long) t * out + o)
                                * TestData.get(x, (long) t * in + i);
                        expected += product;
                        magnitude += Math.abs(product);
                    }
                    assertEquals(expected, TestData.get(dW, (long) o * in + i), 1e-5 * magnitude + 1e-30,
                            "dW[" + o + ", " + i + "]");
                }
            }
        }
    }

    static Stream<Arguments> weightGradientShapes() {
        return Stream.of(Arguments.of(1, 4, 9), Arguments.of(5, 16, 300), Arguments.of(37, 300, 8),
                Arguments.of(300, 8, 1100), Arguments.of(100, 600, 64), Arguments.of(17, 33, 33),
                Arguments.of(8300, 3, 5), Arguments.of(0, 5, 7));
    }

    @Test
    void rejectsOperandsTooSmallForTheShapes() {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.matrix(arena, new Random(1), DType.F32, 4, 8);
            MemorySegment small = arena.allocate(8L * Float.BYTES);
            MemorySegment big = arena.allocate(64L * Float.BYTES);
            assertThrows(IllegalArgumentException.class, () -> Matmul.transposed(small, 3, w, big, false));
            assertThrows(IllegalArgumentException.class, () -> Matmul.transposed(big, 2, w, small, false));
            assertThrows(IllegalArgumentException.class, () -> Matmul.weightGradient(big, big, 4, 4, 8, small));
            assertThrows(IllegalArgumentException.class, () -> Matmul.weightGradient(small, big, 4, 4, 8, big));
        }
    }
}
