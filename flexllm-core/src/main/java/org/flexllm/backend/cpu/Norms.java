package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** RMSNorm: {@code x / sqrt(mean(x²) + eps) * w}, one row per token, and its gradient; {@code w} is f32. */
final class Norms {
    private Norms() {}

    static void rmsNorm(MemorySegment x, int n, MemorySegment w, int dim, float eps, MemorySegment out) {
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                rmsNormRow(x, out, (long) t * dim, dim, w, eps);
            }
        });
    }

    /**
     * {@code dx += inv·g − x·inv³·mean(g ⊙ x)} with {@code g = dy ⊙ w} and {@code inv = 1/sqrt(mean(x²) + eps)}:
     * the gradient of {@link #rmsNorm} with respect to x, added.
     */
    static void rmsNormBackward(MemorySegment x, MemorySegment dy, int n, MemorySegment w, int dim, float eps,
                                MemorySegment dx) {
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                backwardRow(x, dy, dx, (long) t * dim, dim, w, eps);
            }
        });
    }

    private static float inverseRms(MemorySegment x, long off, int dim, float eps) {
        return (float) (1.0 / Math.sqrt(VectorMath.dot(x, off, x, off, dim) / dim + eps));
    }

    private static void rmsNormRow(MemorySegment x, MemorySegment out, long off, int dim, MemorySegment w,
                                   float eps) {
        float inv = inverseRms(x, off, dim, eps);
        int i = 0;
        for (; i <= dim - F.length(); i += F.length()) {
            VectorMath.load(x, off + i).mul(inv).mul(VectorMath.load(w, i))
                    .intoMemorySegment(out, (off + i) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < dim; i++) {
            VectorMath.set(out, off + i, VectorMath.get(x, off + i) * inv * VectorMath.get(w, i));
        }
    }

    private static void backwardRow(MemorySegment x, MemorySegment dy, MemorySegment dx, long off, int dim,
                                    MemorySegment w, float eps) {
        float inv = inverseRms(x, off, dim, eps);
        float along = inv * inv * inv * weightedDot(dy, w, x, off, dim) / dim;
        int i = 0;
        for (; i <= dim - F.length(); i += F.length()) {
            FloatVector g = VectorMath.load(dy, off + i).mul(VectorMath.load(w, i));
            g.mul(inv).sub(VectorMath.load(x, off + i).mul(along)).add(VectorMath.load(dx, off + i))
                    .intoMemorySegment(dx, (off + i) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < dim; i++) {
            float g = VectorMath.get(dy, off + i) * VectorMath.get(w, i);
            VectorMath.set(dx, off + i, VectorMath.get(dx, off + i) + g * inv - VectorMath.get(x, off + i) * along);
        }
    }

    /** {@code Σ dy[i]·w[i]·x[i]} over one row ({@code w} from index 0). */
    private static float weightedDot(MemorySegment dy, MemorySegment w, MemorySegment x, long off, int dim) {
        FloatVector sum = FloatVector.zero(F);
        int i = 0;
        for (; i <= dim - F.length(); i += F.length()) {
            sum = VectorMath.fma(VectorMath.load(dy, off + i).mul(VectorMath.load(w, i)), VectorMath.load(x, off + i),
                    sum);
        }
        float result = VectorMath.sumLanes(sum);
        for (; i < dim; i++) {
            result += VectorMath.get(dy, off + i) * VectorMath.get(w, i) * VectorMath.get(x, off + i);
        }
        return result;
    }
}
