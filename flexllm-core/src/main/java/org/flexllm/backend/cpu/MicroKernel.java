package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.VectorMath.FUSED;
import static org.flexllm.backend.cpu.Widen.F;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tiled inner loop of the GEMMs: {@code c[cAt + r·stride + lane] += Σ_{k<kc} a[aAt + r·DEPTH + k] ·
 * b[bAt + k·PANEL + lane]} for the {@value #ROWS} rows r of a tile and its {@link #PANEL} lanes. At each k it loads
 * two vectors of b and broadcasts one element of each row of a, so there are no horizontal reductions and no tails.
 * The callers pack their operands into these layouts: {@link Gemm} broadcasts weight rows against panels of x
 * (c is yᵀ), {@link BackwardGemm} broadcasts rows of dy against panels of W or x (c is dx or dW itself).
 */
final class MicroKernel {
    /**
     * Rows of a tile, so that its accumulators stay in registers: 12 rows, 24 accumulators, where there are 32
     * vector registers (AVX-512, AArch64); 6 rows, 12 accumulators, where there are 16 (AVX2), whose 24 would
     * spill on every k. Either way two registers hold b and one the broadcast element.
     */
    static final int ROWS = VectorRegisters.COUNT >= 32 ? 12 : 6;
    /** Lanes of a tile: two vectors. */
    static final int PANEL = 2 * F.length();
    /** Distance between the rows of a, in floats: a constant, so that the row streams need no address arithmetic. */
    static final int DEPTH = 256;

    private MicroKernel() {}

    /** Adds the tile's products over {@code k < kc} to c, with the tile this CPU's registers hold. */
    static void multiply(float[] a, int aAt, int kc, float[] b, int bAt, float[] c, int cAt, int stride) {
        if (ROWS == 12) {
            multiply12(a, aAt, kc, b, bAt, c, cAt, stride);
        } else {
            multiply6(a, aAt, kc, b, bAt, c, cAt, stride);
        }
    }

    /**
     * The 32-register tile. 12 rows per load of b halve the loads of 6 rows, which limited the forward GEMM's
     * single-panel case. Written out rather than looped over arrays of vectors, which C2 would not keep in
     * registers; the 6-row tile repeats its first half for the same reason. The multiply-adds test {@link
     * VectorMath#FUSED} in place: through VectorMath's fma, 24 calls outgrew C2's inlining budget for this method
     * and it boxed vectors.
     */
    private static void multiply12(float[] a, int aAt, int kc, float[] b, int bAt, float[] c, int cAt, int stride) {
        VectorSpecies<Float> s = F;
        int lanes = s.length();
        FloatVector lo0 = FloatVector.fromArray(s, c, cAt);
        FloatVector hi0 = FloatVector.fromArray(s, c, cAt + lanes);
        FloatVector lo1 = FloatVector.fromArray(s, c, cAt + stride);
        FloatVector hi1 = FloatVector.fromArray(s, c, cAt + stride + lanes);
        FloatVector lo2 = FloatVector.fromArray(s, c, cAt + 2 * stride);
        FloatVector hi2 = FloatVector.fromArray(s, c, cAt + 2 * stride + lanes);
        FloatVector lo3 = FloatVector.fromArray(s, c, cAt + 3 * stride);
        FloatVector hi3 = FloatVector.fromArray(s, c, cAt + 3 * stride + lanes);
        FloatVector lo4 = FloatVector.fromArray(s, c, cAt + 4 * stride);
        FloatVector hi4 = FloatVector.fromArray(s, c, cAt + 4 * stride + lanes);
        FloatVector lo5 = FloatVector.fromArray(s, c, cAt + 5 * stride);
        FloatVector hi5 = FloatVector.fromArray(s, c, cAt + 5 * stride + lanes);
        FloatVector lo6 = FloatVector.fromArray(s, c, cAt + 6 * stride);
        FloatVector hi6 = FloatVector.fromArray(s, c, cAt + 6 * stride + lanes);
        FloatVector lo7 = FloatVector.fromArray(s, c, cAt + 7 * stride);
        FloatVector hi7 = FloatVector.fromArray(s, c, cAt + 7 * stride + lanes);
        FloatVector lo8 = FloatVector.fromArray(s, c, cAt + 8 * stride);
        FloatVector hi8 = FloatVector.fromArray(s, c, cAt + 8 * stride + lanes);
        FloatVector lo9 = FloatVector.fromArray(s, c, cAt + 9 * stride);
        FloatVector hi9 = FloatVector.fromArray(s, c, cAt + 9 * stride + lanes);
        FloatVector lo10 = FloatVector.fromArray(s, c, cAt + 10 * stride);
        FloatVector hi10 = FloatVector.fromArray(s, c, cAt + 10 * stride + lanes);
        FloatVector lo11 = FloatVector.fromArray(s, c, cAt + 11 * stride);
        FloatVector hi11 = FloatVector.fromArray(s, c, cAt + 11 * stride + lanes);
        for (int k = 0; k < kc; k++) {
            int bk = bAt + k * PANEL;
            FloatVector b0 = FloatVector.fromArray(s, b, bk);
            FloatVector b1 = FloatVector.fromArray(s, b, bk + lanes);
            FloatVector e = FloatVector.broadcast(s, a[aAt + k]);
            lo0 = FUSED ? e.fma(b0, lo0) : e.mul(b0).add(lo0);
            hi0 = FUSED ? e.fma(b1, hi0) : e.mul(b1).add(hi0);
            e = FloatVector.broadcast(s, a[aAt + DEPTH + k]);
            lo1 = FUSED ? e.fma(b0, lo1) : e.mul(b0).add(lo1);
            hi1 = FUSED ? e.fma(b1, hi1) : e.mul(b1).add(hi1);
            e = FloatVector.broadcast(s, a[aAt + 2 * DEPTH + k]);
            lo2 = FUSED ? e.fma(b0, lo2) : e.mul(b0).add(lo2);
            hi2 = FUSED ? e.fma(b1, hi2) : e.mul(b1).add(hi2);
            e = FloatVector.broadcast(s, a[aAt + 3 * DEPTH + k]);
            lo3 = FUSED ? e.fma(b0, lo3) : e.mul(b0).add(lo3);
            hi3 = FUSED ? e.fma(b1, hi3) : e.mul(b1).add(hi3);
            e = FloatVector.broadcast(s, a[aAt + 4 * DEPTH + k]);
            lo4 = FUSED ? e.fma(b0, lo4) : e.mul(b0).add(lo4);
            hi4 = FUSED ? e.fma(b1, hi4) : e.mul(b1).add(hi4);
            e = FloatVector.broadcast(s, a[aAt + 5 * DEPTH + k]);
            lo5 = FUSED ? e.fma(b0, lo5) : e.mul(b0).add(lo5);
            hi5 = FUSED ? e.fma(b1, hi5) : e.mul(b1).add(hi5);
            e = FloatVector.broadcast(s, a[aAt + 6 * DEPTH + k]);
            lo6 = FUSED ? e.fma(b0, lo6) : e.mul(b0).add(lo6);
            hi6 = FUSED ? e.fma(b1, hi6) : e.mul(b1).add(hi6);
            e = FloatVector.broadcast(s, a[aAt + 7 * DEPTH + k]);
            lo7 = FUSED ? e.fma(b0, lo7) : e.mul(b0).add(lo7);
            hi7 = FUSED ? e.fma(b1, hi7) : e.mul(b1).add(hi7);
            e = FloatVector.broadcast(s, a[aAt + 8 * DEPTH + k]);
            lo8 = FUSED ? e.fma(b0, lo8) : e.mul(b0).add(lo8);
            hi8 = FUSED ? e.fma(b1, hi8) : e.mul(b1).add(hi8);
            e = FloatVector.broadcast(s, a[aAt + 9 * DEPTH + k]);
            lo9 = FUSED ? e.fma(b0, lo9) : e.mul(b0).add(lo9);
            hi9 = FUSED ? e.fma(b1, hi9) : e.mul(b1).add(hi9);
            e = FloatVector.broadcast(s, a[aAt + 10 * DEPTH + k]);
            lo10 = FUSED ? e.fma(b0, lo10) : e.mul(b0).add(lo10);
            hi10 = FUSED ? e.fma(b1, hi10) : e.mul(b1).add(hi10);
            e = FloatVector.broadcast(s, a[aAt + 11 * DEPTH + k]);
            lo11 = FUSED ? e.fma(b0, lo11) : e.mul(b0).add(lo11);
            hi11 = FUSED ? e.fma(b1, hi11) : e.mul(b1).add(hi11);
        }
        lo0.intoArray(c, cAt);
        hi0.intoArray(c, cAt + lanes);
        lo1.intoArray(c, cAt + stride);
        hi1.intoArray(c, cAt + stride + lanes);
        lo2.intoArray(c, cAt + 2 * stride);
        hi2.intoArray(c, cAt + 2 * stride + lanes);
        lo3.intoArray(c, cAt + 3 * stride);
        hi3.intoArray(c, cAt + 3 * stride + lanes);
        lo4.intoArray(c, cAt + 4 * stride);
        hi4.intoArray(c, cAt + 4 * stride + lanes);
        lo5.intoArray(c, cAt + 5 * stride);
        hi5.intoArray(c, cAt + 5 * stride + lanes);
        lo6.intoArray(c, cAt + 6 * stride);
        hi6.intoArray(c, cAt + 6 * stride + lanes);
        lo7.intoArray(c, cAt + 7 * stride);
        hi7.intoArray(c, cAt + 7 * stride + lanes);
        lo8.intoArray(c, cAt + 8 * stride);
        hi8.intoArray(c, cAt + 8 * stride + lanes);
        lo9.intoArray(c, cAt + 9 * stride);
        hi9.intoArray(c, cAt + 9 * stride + lanes);
        lo10.intoArray(c, cAt + 10 * stride);
        hi10.intoArray(c, cAt + 10 * stride + lanes);
        lo11.intoArray(c, cAt + 11 * stride);
        hi11.intoArray(c, cAt + 11 * stride + lanes);
    }

    /** The 16-register tile: 12 accumulators, two b vectors and the broadcast. */
    private static void multiply6(float[] a, int aAt, int kc, float[] b, int bAt, float[] c, int cAt, int stride) {
        VectorSpecies<Float> s = F;
        int lanes = s.length();
        FloatVector lo0 = FloatVector.fromArray(s, c, cAt);
        FloatVector hi0 = FloatVector.fromArray(s, c, cAt + lanes);
        FloatVector lo1 = FloatVector.fromArray(s, c, cAt + stride);
        FloatVector hi1 = FloatVector.fromArray(s, c, cAt + stride + lanes);
        FloatVector lo2 = FloatVector.fromArray(s, c, cAt + 2 * stride);
        FloatVector hi2 = FloatVector.fromArray(s, c, cAt + 2 * stride + lanes);
        FloatVector lo3 = FloatVector.fromArray(s, c, cAt + 3 * stride);
        FloatVector hi3 = FloatVector.fromArray(s, c, cAt + 3 * stride + lanes);
        FloatVector lo4 = FloatVector.fromArray(s, c, cAt + 4 * stride);
        FloatVector hi4 = FloatVector.fromArray(s, c, cAt + 4 * stride + lanes);
        FloatVector lo5 = FloatVector.fromArray(s, c, cAt + 5 * stride);
        FloatVector hi5 = FloatVector.fromArray(s, c, cAt + 5 * stride + lanes);
        for (int k = 0; k < kc; k++) {
            int bk = bAt + k * PANEL;
            FloatVector b0 = FloatVector.fromArray(s, b, bk);
            FloatVector b1 = FloatVector.fromArray(s, b, bk + lanes);
            FloatVector e = FloatVector.broadcast(s, a[aAt + k]);
            lo0 = FUSED ? e.fma(b0, lo0) : e.mul(b0).add(lo0);
            hi0 = FUSED ? e.fma(b1, hi0) : e.mul(b1).add(hi0);
            e = FloatVector.broadcast(s, a[aAt + DEPTH + k]);
            lo1 = FUSED ? e.fma(b0, lo1) : e.mul(b0).add(lo1);
            hi1 = FUSED ? e.fma(b1, hi1) : e.mul(b1).add(hi1);
            e = FloatVector.broadcast(s, a[aAt + 2 * DEPTH + k]);
            lo2 = FUSED ? e.fma(b0, lo2) : e.mul(b0).add(lo2);
            hi2 = FUSED ? e.fma(b1, hi2) : e.mul(b1).add(hi2);
            e = FloatVector.broadcast(s, a[aAt + 3 * DEPTH + k]);
            lo3 = FUSED ? e.fma(b0, lo3) : e.mul(b0).add(lo3);
            hi3 = FUSED ? e.fma(b1, hi3) : e.mul(b1).add(hi3);
            e = FloatVector.broadcast(s, a[aAt + 4 * DEPTH + k]);
            lo4 = FUSED ? e.fma(b0, lo4) : e.mul(b0).add(lo4);
            hi4 = FUSED ? e.fma(b1, hi4) : e.mul(b1).add(hi4);
            e = FloatVector.broadcast(s, a[aAt + 5 * DEPTH + k]);
            lo5 = FUSED ? e.fma(b0, lo5) : e.mul(b0).add(lo5);
            hi5 = FUSED ? e.fma(b1, hi5) : e.mul(b1).add(hi5);
        }
        lo0.intoArray(c, cAt);
        hi0.intoArray(c, cAt + lanes);
        lo1.intoArray(c, cAt + stride);
        hi1.intoArray(c, cAt + stride + lanes);
        lo2.intoArray(c, cAt + 2 * stride);
        hi2.intoArray(c, cAt + 2 * stride + lanes);
        lo3.intoArray(c, cAt + 3 * stride);
        hi3.intoArray(c, cAt + 3 * stride + lanes);
        lo4.intoArray(c, cAt + 4 * stride);
        hi4.intoArray(c, cAt + 4 * stride + lanes);
        lo5.intoArray(c, cAt + 5 * stride);
        hi5.intoArray(c, cAt + 5 * stride + lanes);
    }
}
