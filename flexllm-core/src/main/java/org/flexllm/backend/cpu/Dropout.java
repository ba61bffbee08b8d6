package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * Inverted dropout with a counter-based mask: element {@code (position, column)} of a sequence is kept or
 * dropped by a hash of the seed and those two numbers alone, so no mask is stored and the same element is
 * treated alike in a forward window, the backward and a replay, whatever batch row it sits in.
 */
final class Dropout {
    private Dropout() {}

    static void apply(MemorySegment x, int n, int width, float p, long seed, int[] positions, int firstRow,
                      int firstColumn, MemorySegment out) {
        float kept = 1 / (1 - p);
        Parallel.forRange(n, (from, to) -> {
            for (int r = from; r < to; r++) {
                long row = seed + positions[firstRow + r] * 0x9E3779B97F4A7C15L;
                long off = (long) r * width;
                for (int c = 0; c < width; c++) {
                    float scale = uniform(row + (firstColumn + c) * 0xC2B2AE3D27D4EB4FL) < p ? 0 : kept;
                    VectorMath.set(out, off + c, VectorMath.get(x, off + c) * scale);
                }
            }
        });
    }

    /** A uniform float in [0, 1) from the SplitMix64 finalizer of {@code key}. */
    static float uniform(long key) {
        long z = key;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 40) * 0x1.0p-24f;
    }
}
