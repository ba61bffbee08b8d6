package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ActivationsTest {
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /** Central differences of {@code Σ dOut ⊙ swiglu(gate, up)} through the forward kernel, for every element. */
    @ParameterizedTest(name = "n={0} width={1}")
    @CsvSource({"2, 21", "3, 16"})
    void swigluBackwardMatchesFiniteDifferencesOfTheForwardKernel(int n, int width) {
        float h = 1e-2f;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(width);
            long count = (long) n * width;
            MemorySegment gate = scaled(TestData.floats(arena, random, count), 4f);
            MemorySegment up = TestData.floats(arena, random, count);
            MemorySegment dOut = TestData.floats(arena, random, count);
            MemorySegment dGate = arena.allocate(count * Float.BYTES);
            MemorySegment dUp = arena.allocate(count * Float.BYTES);
            MemorySegment out = arena.allocate(count * Float.BYTES);
            DoubleSupplier loss = () -> {
                backend.swiglu(gate, up, n, width, out);
                return NormsTest.dot(dOut, out, count);
            };
            backend.swigluBackward(gate, up, dOut, n, width, dGate, dUp);

            assertDifferences(gate, dGate, h, loss, count);
            assertDifferences(up, dUp, h, loss, count);
        }
    }

    /** dL/dv[i] against (L(v + h·eᵢ) − L(v − h·eᵢ)) / 2h for every element of v. */
    private static void assertDifferences(MemorySegment v, MemorySegment gradient, float h,
                                          DoubleSupplier loss, long count) {
        for (long i = 0; i < count; i++) {
            float saved = TestData.get(v, i);
            VectorMath.set(v, i, saved + h);
            double plus = loss.getAsDouble();
            VectorMath.set(v, i, saved - h);
            double minus = loss.getAsDouble();
            VectorMath.set(v, i, saved);
            assertEquals((plus - minus) / (2 * h), TestData.get(gradient, i), 1e-3, "element " + i);
        }
    }

    private static MemorySegment scaled(MemorySegment s, float factor) {
        for (long i = 0; i < s.byteSize() / Float.BYTES; i++) {
            VectorMath.set(s, i, TestData.get(s, i) * factor);
        }
        return s;
    }
}
