package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.flexllm.model.Rope.RopeTable;

/**
 * RoPE, rotate_half layout: dimension {@code i} of a head turns together with {@code i + headDim/2}. The gradient
 * turns back by the same angle: a rotation's transpose is its inverse.
 */
final class Rotary {
    private Rotary() {}

    static void rope(MemorySegment x, int n, int heads, int[] positions, RopeTable table) {
        rotate(x, n, heads, positions, table, 1f);
    }

    static void ropeBackward(MemorySegment dx, int n, int heads, int[] positions, RopeTable table) {
        rotate(dx, n, heads, positions, table, -1f);
    }

    /** Rotates every head of every row by its position's angle, times {@code direction} (1 or -1). */
    private static void rotate(MemorySegment x, int n, int heads, int[] positions, RopeTable table, float direction) {
        int half = table.half();
        int width = heads * 2 * half;
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                int row = positions[t] * half;
                for (int h = 0; h < heads; h++) {
                    rotateHead(x, (long) t * width + (long) h * 2 * half, half, table, row, direction);
                }
            }
        });
    }

    private static void rotateHead(MemorySegment x, long off, int half, RopeTable table, int row, float direction) {
        int i = 0;
        for (; i <= half - F.length(); i += F.length()) {
            FloatVector a = VectorMath.load(x, off + i);
            FloatVector b = VectorMath.load(x, off + i + half);
            FloatVector cos = FloatVector.fromArray(F, table.cos(), row + i);
            FloatVector sin = FloatVector.fromArray(F, table.sin(), row + i).mul(direction);
            a.mul(cos).sub(b.mul(sin)).intoMemorySegment(x, (off + i) * Float.BYTES, LITTLE_ENDIAN);
            b.mul(cos).add(a.mul(sin)).intoMemorySegment(x, (off + i + half) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < half; i++) {
            float a = VectorMath.get(x, off + i);
            float b = VectorMath.get(x, off + i + half);
            float cos = table.cos()[row + i];
            float sin = table.sin()[row + i] * direction;
            VectorMath.set(x, off + i, a * cos - b * sin);
            VectorMath.set(x, off + i + half, b * cos + a * sin);
        }
    }
}
