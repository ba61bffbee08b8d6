package org.flexllm.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code e^x} in f32 whose bits do not depend on the JIT. {@link Math#exp} and the Vector API's {@code EXP} may
 * give different last bits in the interpreter, C1 and C2 (an intrinsic or a library call), so a finetuning run
 * would end with an adapter that depends on when a kernel was compiled. Here every step is an IEEE operation
 * with one correctly rounded result (add, multiply, fused multiply-add, shifts): the vector lanes and the
 * scalar form give the same bits in every tier.
 *
 * <p>Range reduction {@code x = k·ln2 + r}, {@code |r| ≤ ln2/2}, with ln2 split into a high part exact in f32
 * and a low correction; {@code e^r} by its Taylor series to degree 7 (truncation below 6e-9, under half an
 * f32 ulp); {@code 2^k} built in the exponent field. Within 2 ulp of the true value; results below
 * {@link #UNDERFLOW} are 0, above {@link #OVERFLOW} infinite; NaN stays NaN.
 */
public final class Exp {
    /** Below this, e^x is subnormal or 0 in f32; returned as 0 (softmax weights that small do not count). */
    static final float UNDERFLOW = -87.33655f;
    /**
     * 127.5·ln2: above it {@code 2^k} would need the exponent 128; returned as infinity although f32 could hold
     * e^x up to 88.72 (no caller exponentiates anything that large: softmax and SiLU see x ≤ 0).
     */
    static final float OVERFLOW = 88.37626f;

    private static final float LOG2_E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    /** 1.5·2^23: adding it rounds a float below 2^22 to the nearest integer, ties to even. */
    private static final float ROUNDER = 12582912f;
    private static final float[] TAYLOR = {1f / 5040, 1f / 720, 1f / 120, 1f / 24, 1f / 6, 1f / 2, 1f, 1f};

    private Exp() {}

    /** e^x for one value, bit for bit as a lane of {@link #exp(FloatVector)}. */
    public static float exp(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        if (x < UNDERFLOW) {
            return 0f;
        }
        if (x > OVERFLOW) {
            return Float.POSITIVE_INFINITY;
        }
        float k = VectorMath.fma(x, LOG2_E, ROUNDER) - ROUNDER;
        float r = VectorMath.fma(-k, LN2_LO, VectorMath.fma(-k, LN2_HI, x));
        float p = TAYLOR[0];
        for (int i = 1; i < TAYLOR.length; i++) {
            p = VectorMath.fma(p, r, TAYLOR[i]);
        }
        return p * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /** e^x lane by lane. */
    public static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(UNDERFLOW).min(OVERFLOW);
        FloatVector k = VectorMath.fma(clamped, LOG2_E, ROUNDER).sub(ROUNDER);
        FloatVector negK = k.neg();
        FloatVector r = VectorMath.fma(negK, x.broadcast(LN2_LO),
                VectorMath.fma(negK, x.broadcast(LN2_HI), clamped));
        FloatVector p = x.broadcast(TAYLOR[0]);
        for (int i = 1; i < TAYLOR.length; i++) {
            p = VectorMath.fma(p, r, x.broadcast(TAYLOR[i]));
        }
        IntVector exponent = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(exponent.reinterpretAsFloats());
        return e.blend(0f, x.compare(VectorOperators.LT, UNDERFLOW))
                .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, OVERFLOW))
                .blend(x, x.test(VectorOperators.IS_NAN));
    }
}
