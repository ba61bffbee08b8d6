package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.flexllm.model.Rope.RopeTable;

/** RoPE, rotate_half layout: dimension {@code i} of a head turns together with {@code i + headDim/2}. */
final class Rotary {
    private Rotary() {}

    static void rope(MemorySegment x, int n, int heads, int[] positions, RopeTable table) {
        int half = table.half();
        int width = heads * 2 * half;
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                int row = positions[t] * half;
                for (int h = 0; h < heads; h++) {
                    rotateHead(x, (long) t * width + (long) h * 2 * half, half, table, row);
                }
            }
        });
    }

    private static void rotateHead(MemorySegment x, long off, int half, RopeTable table, int row) {
        for (int i = 0; i < half; i++) {
            float a = VectorMath.get(x, off + i);
            float b = VectorMath.get(x, off + i + half);
            float cos = table.cos()[row + i];
            float sin = table.sin()[row + i];
            VectorMath.set(x, off + i, a * cos - b * sin);
            VectorMath.set(x, off + i + half, b * cos + a * sin);
        }
    }
}
