package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * SwiGLU: {@code silu(gate) * up} with {@code silu(g) = g·σ(g) = g / (1 + e^-g)}, and its gradient, which needs
 * {@code silu'(g) = σ(g)·(1 + g·(1 − σ(g)))}.
 *
 * <p>The cores split the flat range of elements by rows, so where the vector loop ends and the scalar tail begins
 * depends on the split: the tails do the lanes' operations in the lanes' order, so that an element's bits do not
 * depend on the number of threads.
 */
final class Activations {
    private Activations() {}

    static void swiglu(MemorySegment gate, MemorySegment up, int n, int width, MemorySegment out) {
        Parallel.forRange(n, (from, to) -> swiglu(gate, up, out, (long) from * width, (long) to * width));
    }

    /** {@code dGate = dOut·up·silu'(gate)}, {@code dUp = dOut·silu(gate)}, both overwritten. */
    static void swigluBackward(MemorySegment gate, MemorySegment up, MemorySegment dOut, int n, int width,
                               MemorySegment dGate, MemorySegment dUp) {
        Parallel.forRange(n, (from, to) ->
                swigluBackward(gate, up, dOut, dGate, dUp, (long) from * width, (long) to * width));
    }

    private static void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, long from, long to) {
        long i = from;
        for (; i <= to - F.length(); i += F.length()) {
            FloatVector g = VectorMath.load(gate, i);
            FloatVector silu = g.div(Exp.exp(g.neg()).add(1f));
            silu.mul(VectorMath.load(up, i)).intoMemorySegment(out, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float g = VectorMath.get(gate, i);
            VectorMath.set(out, i, g / (Exp.exp(-g) + 1f) * VectorMath.get(up, i));
        }
    }

    private static void swigluBackward(MemorySegment gate, MemorySegment up, MemorySegment dOut,
                                       MemorySegment dGate, MemorySegment dUp, long from, long to) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        long i = from;
        for (; i <= to - F.length(); i += F.length()) {
            FloatVector g = VectorMath.load(gate, i);
            FloatVector d = VectorMath.load(dOut, i);
            FloatVector sigmoid = one.div(Exp.exp(g.neg()).add(one));
            FloatVector slope = sigmoid.mul(g.mul(one.sub(sigmoid)).add(one));
            d.mul(g.mul(sigmoid)).intoMemorySegment(dUp, i * Float.BYTES, LITTLE_ENDIAN);
            d.mul(VectorMath.load(up, i)).mul(slope).intoMemorySegment(dGate, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float g = VectorMath.get(gate, i);
            float d = VectorMath.get(dOut, i);
            float sigmoid = 1f / (Exp.exp(-g) + 1f);
            float slope = sigmoid * (g * (1f - sigmoid) + 1f);
            VectorMath.set(dUp, i, d * (g * sigmoid));
            VectorMath.set(dGate, i, d * VectorMath.get(up, i) * slope);
        }
    }
}
