package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** SwiGLU: {@code silu(gate) * up} with {@code silu(g) = g / (1 + e^-g)}. */
final class Activations {
    private Activations() {}

    static void swiglu(MemorySegment gate, MemorySegment up, int n, int width, MemorySegment out) {
        Parallel.forRange(n, (from, to) -> swiglu(gate, up, out, (long) from * width, (long) to * width));
    }

    private static void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, long from, long to) {
        long i = from;
        for (; i <= to - F.length(); i += F.length()) {
            FloatVector g = VectorMath.load(gate, i);
            FloatVector silu = g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
            silu.mul(VectorMath.load(up, i)).intoMemorySegment(out, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float g = VectorMath.get(gate, i);
            VectorMath.set(out, i, g / (1f + (float) Math.exp(-g)) * VectorMath.get(up, i));
        }
    }
}
