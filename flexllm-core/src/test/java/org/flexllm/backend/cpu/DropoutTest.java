package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class DropoutTest {
    private static final int ROWS = 64;
    private static final int WIDTH = 301;
    private static final float P = 0.3f;

    private static MemorySegment ones(Arena arena) {
        MemorySegment x = arena.allocate((long) ROWS * WIDTH * Float.BYTES);
        for (long i = 0; i < (long) ROWS * WIDTH; i++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
        }
        return x;
    }

    private static int[] positions(int first) {
        int[] p = new int[ROWS];
        for (int r = 0; r < ROWS; r++) {
            p[r] = first + r;
        }
        return p;
    }

    @Test
    void dropsAboutPAndScalesTheRestByItsInverse() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = arena.allocate((long) ROWS * WIDTH * Float.BYTES);
            Dropout.apply(ones(arena), ROWS, WIDTH, P, 42, positions(0), 0, 0, out);
            int dropped = 0;
            for (long i = 0; i < (long) ROWS * WIDTH; i++) {
                float v = out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (v == 0) {
                    dropped++;
                } else {
                    assertEquals(1 / (1 - P), v, 1e-6);
                }
            }
            double n = (double) ROWS * WIDTH;
            double sigma = Math.sqrt(n * P * (1 - P));
            assertTrue(Math.abs(dropped - n * P) < 5 * sigma, dropped + " of " + n + " dropped");
        }
    }

    /** The mask depends on (seed, position, column), not on where the row sits in the batch. */
    @Test
    void theMaskFollowsPositionsAndSeedAndWorksInPlace() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment whole = ones(arena);
            Dropout.apply(whole, ROWS, WIDTH, P, 7, positions(0), 0, 0, whole);
            MemorySegment tail = ones(arena);
            int[] shifted = new int[ROWS + 10];
            System.arraycopy(positions(32), 0, shifted, 10, ROWS);
            Dropout.apply(tail, 32, WIDTH, P, 7, shifted, 10, 0, tail);
            long rowBytes = (long) WIDTH * Float.BYTES;
            assertEquals(-1L, whole.asSlice(32 * rowBytes, 32 * rowBytes).mismatch(tail.asSlice(0, 32 * rowBytes)));
            MemorySegment other = ones(arena);
            Dropout.apply(other, ROWS, WIDTH, P, 8, positions(0), 0, 0, other);
            assertNotEquals(-1L, whole.mismatch(other));
        }
    }
}
