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
