package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NormsTest {
    private static final float EPS = 1e-5f;
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    @ParameterizedTest(name = "n={0} dim={1}")
    @CsvSource({"1, 8", "3, 37", "5, 64", "17, 100"})
    void backwardAddsTheDoublePrecisionGradient(int n, int dim) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(n * 100L + dim);
            MemorySegment x = TestData.floats(arena, random, (long) n * dim);
            MemorySegment dy = TestData.floats(arena, random, (long) n * dim);
            Tensor w = new Tensor("norm", DType.F32, Shape.of(dim), TestData.floats(arena, random, dim));
            MemorySegment dx = TestData.floats(arena, random, (long) n * dim);
            MemorySegment before = arena.allocate(dx.byteSize()).copyFrom(dx);

            backend.rmsNormBackward(x, dy, n, w, EPS, dx);

            for (int t = 0; t < n; t++) {
                long off = (long) t * dim;
                double squares = 0;
                double gx = 0;
                for (int i = 0; i < dim; i++) {
                    double xi = TestData.get(x, off + i);
                    squares += xi * xi;
                    gx += TestData.get(dy, off + i) * (double) w.getFloat(i) * xi;
                }
                double inv = 1 / Math.sqrt(squares / dim + EPS);
                for (int i = 0; i < dim; i++) {
                    double g = TestData.get(dy, off + i) * (double) w.getFloat(i);
                    double expected = TestData.get(before, off + i) + inv * g
                            - TestData.get(x, off + i) * inv * inv * inv * gx / dim;
                    assertEquals(expected, TestData.get(dx, off + i), 1e-5 * (1 + Math.abs(expected)),
                            "dx[" + t + ", " + i + "]");
                }
            }
        }
    }

    /** Central differences of {@code Σ dy ⊙ rmsNorm(x)} through the forward kernel. */
    @Test
    void backwardMatchesFiniteDifferencesOfTheForwardKernel() {
        int n = 2;
        int dim = 21;
        float h = 1e-2f;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(3);
            MemorySegment x = TestData.floats(arena, random, (long) n * dim);
            MemorySegment dy = TestData.floats(arena, random, (long) n * dim);
            Tensor w = new Tensor("norm", DType.F32, Shape.of(dim), TestData.floats(arena, random, dim));
            MemorySegment dx = arena.allocate((long) n * dim * Float.BYTES);
            MemorySegment out = arena.allocate((long) n * dim * Float.BYTES);

            backend.rmsNormBackward(x, dy, n, w, EPS, dx);

            for (long i = 0; i < (long) n * dim; i++) {
                float saved = TestData.get(x, i);
                VectorMath.set(x, i, saved + h);
                backend.rmsNorm(x, n, w, EPS, out);
                double plus = dot(dy, out, n * dim);
                VectorMath.set(x, i, saved - h);
                backend.rmsNorm(x, n, w, EPS, out);
                double minus = dot(dy, out, n * dim);
                VectorMath.set(x, i, saved);
                assertEquals((plus - minus) / (2 * h), TestData.get(dx, i), 2e-3, "dx[" + i + "]");
            }
        }
    }

    static double dot(MemorySegment a, MemorySegment b, long count) {
        double sum = 0;
        for (long i = 0; i < count; i++) {
            sum += (double) TestData.get(a, i) * TestData.get(b, i);
        }
        return sum;
    }
}
