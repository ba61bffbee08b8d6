package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VectorMathTest {
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8, 15, 16, 17, 64, 100, 131})
    void dotMatchesDoublePrecisionReference(int len) {
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(len);
            MemorySegment a = TestData.floats(arena, random, len + 5L);
            MemorySegment b = TestData.floats(arena, random, len + 9L);
            double expected = 0;
            double magnitude = 0;
            for (int i = 0; i < len; i++) {
                double product = (double) TestData.get(a, 5 + i) * TestData.get(b, 9 + i);
                expected += product;
                magnitude += Math.abs(product);
            }
            assertEquals(expected, VectorMath.dot(a, 5, b, 9, len), 1e-6 * magnitude);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8, 15, 16, 17, 64, 100, 131})
    void axpyAddsScaledSliceAndLeavesTheRestAlone(int len) {
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(len);
            MemorySegment x = TestData.floats(arena, random, len + 3L);
            MemorySegment y = TestData.floats(arena, random, len + 14L);
            MemorySegment before = arena.allocate(y.byteSize()).copyFrom(y);
            float alpha = -0.75f;

            VectorMath.axpy(alpha, x, 3, y, 7, len);

            for (int i = 0; i < len + 14; i++) {
                boolean inSlice = i >= 7 && i < 7 + len;
                double expected = TestData.get(before, i) + (inSlice ? (double) alpha * TestData.get(x, i - 4) : 0);
                assertEquals(expected, TestData.get(y, i), 1e-6, "y[" + i + "]");
            }
        }
    }

    /** In place over a slice of logits offset by 300 (e^300 overflows a float), returning the log-sum-exp. */
    @ParameterizedTest
    @ValueSource(ints = {1, 8, 15, 16, 17, 100, 131})
    void softmaxNormalizesASliceAndReturnsItsLogSumExp(int len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = TestData.floats(arena, new Random(len), len + 6L);
            VectorMath.scale(x, 0, len + 6, 4f);
            for (int i = 0; i < len; i++) {
                VectorMath.set(x, 2 + i, TestData.get(x, 2 + i) + 300);
            }
            MemorySegment before = arena.allocate(x.byteSize()).copyFrom(x);

            double logSumExp = VectorMath.softmax(x, 2, len);

            double sum = 0;
            for (int i = 0; i < len; i++) {
                sum += Math.exp(TestData.get(before, 2 + i) - 300.0);
            }
            assertEquals(300 + Math.log(sum), logSumExp, 1e-5);
            for (int i = 0; i < len + 6; i++) {
                boolean inSlice = i >= 2 && i < 2 + len;
                double expected = inSlice ? Math.exp(TestData.get(before, i) - 300.0) / sum : TestData.get(before, i);
                assertEquals(expected, TestData.get(x, i), 1e-6, "x[" + i + "]");
            }
        }
    }

    /**
     * The lanes are added as a halving tree (lane i + lane i + half), whatever the JIT: a case where that order
     * and the lane-after-lane order differ in float, and the array form agreeing with the vector form bit for bit.
     */
    @Test
    void sumLanesAddsAsAHalvingTreeInBothForms() {
        float[] lanes = new float[Widen.F.length()];
        lanes[0] = 1e8f;
        lanes[lanes.length / 2] = -1e8f;
        lanes[1] = 1f;
        // Halving: (1e8 + -1e8) + 1 = 1; lane after lane: (1e8 + 1) rounds to 1e8, minus 1e8 = 0.
        assertEquals(1f, VectorMath.sumLanes(FloatVector.fromArray(Widen.F, lanes, 0)));
        assertEquals(1f, VectorMath.sumLanes(lanes.clone()));

        Random random = new Random(3);
        for (int n = 0; n < 10_000; n++) {
            for (int i = 0; i < lanes.length; i++) {
                lanes[i] = (float) (random.nextGaussian() * Math.exp(random.nextInt(20) - 10));
            }
            float vector = VectorMath.sumLanes(FloatVector.fromArray(Widen.F, lanes, 0));
            assertEquals(Float.floatToRawIntBits(vector), Float.floatToRawIntBits(VectorMath.sumLanes(lanes)));
        }
    }
}
