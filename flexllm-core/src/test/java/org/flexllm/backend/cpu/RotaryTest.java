package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.flexllm.model.Rope.RopeTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RotaryTest {
    private static final int POSITIONS = 50;
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /** Both directions against a double rotation; the half head widths cover no vector, a tail, and whole vectors. */
    @ParameterizedTest(name = "n={0} heads={1} half={2}")
    @CsvSource({"1, 1, 4", "3, 2, 21", "5, 3, 32", "2, 4, 64"})
    void rotatesByThePositionsAngleForwardAndBack(int n, int heads, int half) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(n + 10L * half);
            RopeTable table = table(half, random);
            int[] positions = random.ints(n, 0, POSITIONS).toArray();
            long count = (long) n * heads * 2 * half;
            MemorySegment x = TestData.floats(arena, random, count);
            MemorySegment forward = arena.allocate(x.byteSize()).copyFrom(x);
            MemorySegment backward = arena.allocate(x.byteSize()).copyFrom(x);

            backend.rope(forward, n, heads, positions, table);
            backend.ropeBackward(backward, n, heads, positions, table);

            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    long off = ((long) t * heads + h) * 2 * half;
                    for (int i = 0; i < half; i++) {
                        double cos = table.cos()[positions[t] * half + i];
                        double sin = table.sin()[positions[t] * half + i];
                        double a = TestData.get(x, off + i);
                        double b = TestData.get(x, off + i + half);
                        assertEquals(a * cos - b * sin, TestData.get(forward, off + i), 1e-6);
                        assertEquals(b * cos + a * sin, TestData.get(forward, off + i + half), 1e-6);
                        assertEquals(a * cos + b * sin, TestData.get(backward, off + i), 1e-6);
                        assertEquals(b * cos - a * sin, TestData.get(backward, off + i + half), 1e-6);
                    }
                }
            }
            backend.ropeBackward(forward, n, heads, positions, table);
            for (long i = 0; i < count; i++) {
                assertEquals(TestData.get(x, i), TestData.get(forward, i), 1e-5, "round trip, element " + i);
            }
        }
    }

    /** cos and sin of random angles, as a {@link org.flexllm.model.Rope#table} would hold them. */
    private static RopeTable table(int half, Random random) {
        float[] cos = new float[POSITIONS * half];
        float[] sin = new float[POSITIONS * half];
        for (int i = 0; i < cos.length; i++) {
            double angle = random.nextDouble() * 2 * Math.PI;
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
        return new RopeTable(half, POSITIONS, cos, sin);
    }
}
