package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.Widen.F;
import static org.flexllm.backend.cpu.Widen.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/** Vectorized f32 loops over slices of memory segments; indices and lengths count floats, not bytes. */
public final class VectorMath {
    /**
     * Whether the JIT fuses a multiply-add into one instruction (x86 with FMA3, which every AVX2 CPU has; AArch64).
     * Without it (an older CPU, or {@code -XX:UseAVX=0}) HotSpot computes a fused multiply-add exactly in BigDecimal
     * arithmetic, thousands of times slower, so the kernels multiply and then add: other bits, but the same ones in
     * every run and JIT tier on that machine.
     */
    static final boolean FUSED = Boolean.parseBoolean(HotSpotOption.value("UseFMA", "true"));

    private VectorMath() {}

    /** {@code a·b + c}, fused where the CPU fuses it ({@link #FUSED}). */
    static FloatVector fma(FloatVector a, FloatVector b, FloatVector c) {
        return FUSED ? a.fma(b, c) : a.mul(b).add(c);
    }

    /** {@code a·b + c} for every lane, fused where the CPU fuses it ({@link #FUSED}). */
    static FloatVector fma(FloatVector a, float b, float c) {
        return FUSED ? a.fma(b, c) : a.mul(b).add(c);
    }

    /** {@code a·b + c}, fused where the CPU fuses it ({@link #FUSED}). */
    static float fma(float a, float b, float c) {
        return FUSED ? Math.fma(a, b, c) : a * b + c;
    }

    /** {@code Σ a[aIndex + i] · b[bIndex + i]} for {@code i < len}, e.g. an attention score. */
    public static float dot(MemorySegment a, long aIndex, MemorySegment b, long bIndex, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector sum = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            sum = fma(load(a, aIndex + i), load(b, bIndex + i), sum);
        }
        float result = sumLanes(sum);
        for (int i = vectorEnd; i < len; i++) {
            result += get(a, aIndex + i) * get(b, bIndex + i);
        }
        return result;
    }

    /**
     * The sum of the lanes of a vector of the preferred species, halving it until one lane is left: lane i adds
     * lane i + half. The Vector API leaves the order of {@code reduceLanes(ADD)} to the implementation (C2 adds
     * 512-bit vectors this way, 256-bit ones otherwise, the Java fallback lane after lane), so a finetuning run
     * would depend on when its kernels were compiled; this order is fixed.
     */
    public static float sumLanes(FloatVector v) {
        // Unrolled over constant shuffles: C2 then keeps the vectors in registers, where a loop over the halvings
        // (or slices) boxed them in larger kernels.
        if (F.length() > 16) {
            return sumLanesOfWideVector(v);
        }
        if (F.length() == 16) {
            v = v.add(v.rearrange(HALF_OF_16));
        }
        if (F.length() >= 8) {
            v = v.add(v.rearrange(HALF_OF_8));
        }
        if (F.length() >= 4) {
            v = v.add(v.rearrange(HALF_OF_4));
        }
        return v.lane(0) + v.lane(1);
    }

    /** Vectors of more than 16 floats (SVE beyond 512 bits): the same halvings, in a loop. */
    private static float sumLanesOfWideVector(FloatVector v) {
        for (int half = v.length() / 2; half > 1; half /= 2) {
            v = v.add(v.rearrange(VectorShuffle.iota(F, half, 1, true)));
        }
        return v.lane(0) + v.lane(1);
    }

    private static final VectorShuffle<Float> HALF_OF_16 = halving(16);
    private static final VectorShuffle<Float> HALF_OF_8 = halving(8);
    private static final VectorShuffle<Float> HALF_OF_4 = halving(4);

    /** The shuffle that brings lane i + lanes/2 to lane i, or null unless the preferred species has that many. */
    private static VectorShuffle<Float> halving(int lanes) {
        return lanes <= F.length() ? VectorShuffle.iota(F, lanes / 2, 1, true) : null;
    }

    /**
     * {@link #sumLanes(FloatVector)} of a vector stored in {@code lanes}, with the same bits: for kernels whose
     * inlining budget a vector reduction per row would exhaust. Overwrites {@code lanes}.
     */
    static float sumLanes(float[] lanes) {
        return sumLanes(lanes, 0, lanes.length);
    }

    /** {@link #sumLanes(float[])} over {@code lanes[from, from + count)}, a power of two; overwrites them. */
    static float sumLanes(float[] lanes, int from, int count) {
        for (int half = count / 2; half > 0; half /= 2) {
            for (int i = from; i < from + half; i++) {
                lanes[i] += lanes[i + half];
            }
        }
        return lanes[from];
    }

    /** {@code y[yIndex + i] += alpha · x[xIndex + i]} for {@code i < len}, e.g. accumulating attention values. */
    public static void axpy(float alpha, MemorySegment x, long xIndex, MemorySegment y, long yIndex, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            fma(load(x, xIndex + i), a, load(y, yIndex + i)).intoMemorySegment(y, (yIndex + i) * Float.BYTES, LE);
        }
        for (int i = vectorEnd; i < len; i++) {
            y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, yIndex + i, get(y, yIndex + i) + alpha * get(x, xIndex + i));
        }
    }

    /** {@code x[index + i] = 0} for {@code i < len}; unlike a fill of a slice, allocates no segment per call. */
    public static void zero(MemorySegment x, long index, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector zero = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            zero.intoMemorySegment(x, (index + i) * Float.BYTES, LE);
        }
        for (int i = vectorEnd; i < len; i++) {
            set(x, index + i, 0f);
        }
    }

    /** {@code x[index + i] *= factor} for {@code i < len}. */
    public static void scale(MemorySegment x, long index, int len, float factor) {
        int vectorEnd = len - len % F.length();
        for (int i = 0; i < vectorEnd; i += F.length()) {
            load(x, index + i).mul(factor).intoMemorySegment(x, (index + i) * Float.BYTES, LE);
        }
        for (int i = vectorEnd; i < len; i++) {
            set(x, index + i, get(x, index + i) * factor);
        }
    }

    /**
     * Softmax in place over {@code x[index, index + len)}, {@code len > 0}; returns the log-sum-exp of the inputs.
     * The maximum is subtracted before exponentiating, so nothing overflows; the exponentials are vectorized.
     */
    public static double softmax(MemorySegment x, long index, int len) {
        float max = max(x, index, len);
        float sum = exponentiate(x, index, len, max);
        scale(x, index, len, 1 / sum);
        return max + StrictMath.log(sum);
    }

    private static float max(MemorySegment x, long index, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector maxima = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            maxima = maxima.max(load(x, index + i));
        }
        float max = maxima.reduceLanes(VectorOperators.MAX);
        for (int i = vectorEnd; i < len; i++) {
            max = Math.max(max, get(x, index + i));
        }
        return max;
    }

    /** {@code x[index + i] = e^(x[index + i] − max)}; returns their sum. */
    private static float exponentiate(MemorySegment x, long index, int len, float max) {
        int vectorEnd = len - len % F.length();
        FloatVector sums = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            FloatVector e = Exp.exp(load(x, index + i).sub(max));
            e.intoMemorySegment(x, (index + i) * Float.BYTES, LE);
            sums = sums.add(e);
        }
        float sum = sumLanes(sums);
        for (int i = vectorEnd; i < len; i++) {
            float e = Exp.exp(get(x, index + i) - max);
            set(x, index + i, e);
            sum += e;
        }
        return sum;
    }

    static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(F, s, index * Float.BYTES, LE);
    }

    static float get(MemorySegment s, long index) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index);
    }

    static void set(MemorySegment s, long index, float value) {
        s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index, value);
    }
}
