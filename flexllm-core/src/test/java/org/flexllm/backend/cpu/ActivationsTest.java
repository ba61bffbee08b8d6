package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
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

    /**
     * A row gets the same bits in a batch as alone. The pool splits a batch's elements by rows, so in a batch a
     * row's last elements may fall in the vector loop that, alone, the scalar tail computes (172, stories260K's
     * intermediate size, is a multiple of no vector length): the number of threads changed the gradients until the
     * tails did the lanes' operations in the lanes' order.
     */
    @ParameterizedTest(name = "width={0}")
    @CsvSource({"172", "21"})
    void aRowGetsTheSameBitsInABatchAsAlone(int width) {
        // More rows than the pool makes chunks (8 a thread), so that chunks hold several rows on any small machine.
        int n = 67;
        long count = (long) n * width;
        long rowBytes = (long) width * Float.BYTES;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(width);
            MemorySegment gate = scaled(TestData.floats(arena, random, count), 8f);
            MemorySegment up = TestData.floats(arena, random, count);
            MemorySegment dOut = TestData.floats(arena, random, count);
            MemorySegment[] batch = {arena.allocate(count * Float.BYTES), arena.allocate(count * Float.BYTES),
                    arena.allocate(count * Float.BYTES)};
            backend.swiglu(gate, up, n, width, batch[0]);
            backend.swigluBackward(gate, up, dOut, n, width, batch[1], batch[2]);
            for (int t = 0; t < n; t++) {
                MemorySegment g = gate.asSlice(t * rowBytes, rowBytes);
                MemorySegment u = up.asSlice(t * rowBytes, rowBytes);
                MemorySegment[] alone = {arena.allocate(rowBytes), arena.allocate(rowBytes), arena.allocate(rowBytes)};
                backend.swiglu(g, u, 1, width, alone[0]);
                backend.swigluBackward(g, u, dOut.asSlice(t * rowBytes, rowBytes), 1, width, alone[1], alone[2]);
                for (int k = 0; k < batch.length; k++) {
                    assertArrayEquals(alone[k].toArray(ValueLayout.JAVA_FLOAT),
                            batch[k].asSlice(t * rowBytes, rowBytes).toArray(ValueLayout.JAVA_FLOAT),
                            List.of("out", "dGate", "dUp").get(k) + " of row " + t);
                }
            }
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
