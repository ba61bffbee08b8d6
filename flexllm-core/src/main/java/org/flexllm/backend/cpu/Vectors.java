package org.flexllm.backend.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorized f32 primitives over memory segments (offsets in floats); tails run scalar. */
final class Vectors {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Vectors() {}

    static FloatVector load(MemorySegment s, long floatOffset) {
        return FloatVector.fromMemorySegment(F, s, floatOffset * 4, LITTLE_ENDIAN);
    }

    static float get(MemorySegment s, long floatOffset) {
        return s.getAtIndex(JAVA_FLOAT_UNALIGNED, floatOffset);
    }

    static void set(MemorySegment s, long floatOffset, float value) {
        s.setAtIndex(JAVA_FLOAT_UNALIGNED, floatOffset, value);
    }

    /** Σ a[i]·b[i] over {@code len} floats. */
    static float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int len) {
        int i = 0;
        float sum = 0;
        if (len >= F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (; i <= len - F.length(); i += F.length()) {
                acc = load(a, aOff + i).fma(load(b, bOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < len; i++) {
            sum += get(a, aOff + i) * get(b, bOff + i);
        }
        return sum;
    }

    /** y[i] += alpha·x[i] over {@code len} floats. */
    static void axpy(float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff, int len) {
        int i = 0;
        for (; i <= len - F.length(); i += F.length()) {
            load(x, xOff + i).fma(FloatVector.broadcast(F, alpha), load(y, yOff + i))
                    .intoMemorySegment(y, (yOff + i) * 4, LITTLE_ENDIAN);
        }
        for (; i < len; i++) {
            set(y, yOff + i, get(y, yOff + i) + alpha * get(x, xOff + i));
        }
    }

    /** x[i] *= alpha over {@code len} floats. */
    static void scale(MemorySegment x, long off, int len, float alpha) {
        int i = 0;
        for (; i <= len - F.length(); i += F.length()) {
            load(x, off + i).mul(alpha).intoMemorySegment(x, (off + i) * 4, LITTLE_ENDIAN);
        }
        for (; i < len; i++) {
            set(x, off + i, get(x, off + i) * alpha);
        }
    }

    /** Σ x[i]² over {@code len} floats. */
    static float sumOfSquares(MemorySegment x, long off, int len) {
        return dot(x, off, x, off, len);
    }
}
