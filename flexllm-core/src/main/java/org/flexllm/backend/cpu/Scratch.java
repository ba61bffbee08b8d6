package org.flexllm.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread working memory of the kernels, grown on demand and then reused, so that steady-state calls
 * allocate nothing. A caller's packed x is read by the pool's workers during the call that filled it.
 */
final class Scratch {
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private float[] packed = new float[0];
    private float[] weights = new float[0];
    private float[] row = new float[0];
    private MemorySegment offHeapWeights = MemorySegment.NULL;
    private MemorySegment workspace = MemorySegment.NULL;
    private MemorySegment partials = MemorySegment.NULL;
    private float[] sums = new float[0];
    private double[] losses = new double[0];
    private final int[] strides = new int[Widen.F.length()];
    private final float[] lanes = new float[Matmul.GEMV_MAX_ROWS * Gemv.ROWS * Widen.F.length()];

    private Scratch() {}

    static Scratch get() {
        return LOCAL.get();
    }

    /** Room for {@link Gemv}'s sums: the lanes of {@link Gemv#ROWS} vectors for each of its rows of x. */
    float[] lanes() {
        return lanes;
    }

    /** Room for x packed into GEMM panels. */
    float[] packed(int length) {
        if (packed.length < length) {
            packed = new float[length];
        }
        return packed;
    }

    /** Room for weight rows (or panels of a {@link BackwardGemm}'s B) widened to f32 by the matmul kernels. */
    float[] weights(int length) {
        if (weights.length < length) {
            weights = new float[length];
        }
        return weights;
    }

    /** Room for weight rows widened to f32 that the GEMV kernel reads like F32 weights. */
    MemorySegment offHeapWeights(int floats) {
        if (offHeapWeights.byteSize() < (long) floats * Float.BYTES) {
            offHeapWeights = Arena.ofAuto().allocate((long) floats * Float.BYTES, 64);
        }
        return offHeapWeights;
    }

    /** Room for the matrices of one {@link AttentionBackward} head. */
    MemorySegment workspace(long floats) {
        if (workspace.byteSize() < floats * Float.BYTES) {
            workspace = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
        }
        return workspace;
    }

    /** Room for {@link AttentionBackward}'s per-head key and value gradients, which the pool's workers write. */
    MemorySegment partials(long floats) {
        if (partials.byteSize() < floats * Float.BYTES) {
            partials = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
        }
        return partials;
    }

    /** The index map {0, stride, 2·stride, ...} for a vector gather. */
    int[] strides(int stride) {
        for (int j = 0; j < strides.length; j++) {
            strides[j] = j * stride;
        }
        return strides;
    }

    /** Room for one row (or row segment) widened by {@link Widen#toFloat} or {@link BackwardGemm}. */
    float[] row(int length) {
        if (row.length < length) {
            row = new float[length];
        }
        return row;
    }

    /** Room for the GEMMs' sums: {@link Gemm}'s yᵀ of a group of weight tiles, {@link BackwardGemm}'s block of C. */
    float[] sums(int length) {
        if (sums.length < length) {
            sums = new float[length];
        }
        return sums;
    }

    /** Room for one loss per row of logits. */
    double[] losses(int length) {
        if (losses.length < length) {
            losses = new double[length];
        }
        return losses;
    }
}
