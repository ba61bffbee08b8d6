package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ElementwiseTest {
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /** Counts below a vector, with a tail, and past a work item; the floats past {@code count} stay as they were. */
    @ParameterizedTest
    @ValueSource(ints = {0, 7, 100, 70_001})
    void axpyAddsAScaledBufferAndNothingMore(int count) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(count);
            MemorySegment x = TestData.floats(arena, random, count + 20L);
            MemorySegment y = TestData.floats(arena, random, count + 20L);
            MemorySegment before = arena.allocate(y.byteSize()).copyFrom(y);

            backend.axpy(-1.5f, x, y, count);

            for (long i = 0; i < count + 20L; i++) {
                double expected = TestData.get(before, i) + (i < count ? -1.5 * TestData.get(x, i) : 0);
                assertEquals(expected, TestData.get(y, i), 1e-6, "y[" + i + "]");
            }
        }
    }

    @ParameterizedTest(name = "n={0} width={1}")
    @CsvSource({"1, 3", "4, 17", "3, 128", "5, 300"})
    void mulRowsScalesEveryRowByTheSameVector(int n, int width) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(n * 1000L + width);
            MemorySegment x = TestData.floats(arena, random, (long) n * width);
            MemorySegment scale = TestData.floats(arena, random, width);
            MemorySegment before = arena.allocate(x.byteSize()).copyFrom(x);

            backend.mulRows(x, n, width, scale);

            for (int t = 0; t < n; t++) {
                for (int i = 0; i < width; i++) {
                    long at = (long) t * width + i;
                    assertEquals(TestData.get(before, at) * TestData.get(scale, i), TestData.get(x, at), 1e-7,
                            "x[" + t + ", " + i + "]");
                }
            }
        }
    }

    /** Widths with a tail and more than one work item of columns. */
    @ParameterizedTest(name = "n={0} width={1}")
    @CsvSource({"1, 3", "4, 17", "7, 128", "33, 300"})
    void mulRowsScaleGradAddsTheColumnSums(int n, int width) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(n * 1000L + width);
            MemorySegment dy = TestData.floats(arena, random, (long) n * width);
            MemorySegment x = TestData.floats(arena, random, (long) n * width);
            MemorySegment dScale = TestData.floats(arena, random, width);
            MemorySegment before = arena.allocate(dScale.byteSize()).copyFrom(dScale);

            backend.mulRowsScaleGrad(dy, x, n, width, dScale);

            for (int i = 0; i < width; i++) {
                double expected = TestData.get(before, i);
                for (int t = 0; t < n; t++) {
                    expected += (double) TestData.get(dy, (long) t * width + i) * TestData.get(x, (long) t * width + i);
                }
                assertEquals(expected, TestData.get(dScale, i), 1e-5 * (1 + n), "dScale[" + i + "]");
            }
        }
    }
}
