package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;

/** RMSNorm: {@code x / sqrt(mean(x²) + eps) * w}, one row per token; {@code w} is f32. */
final class Norms {
    private Norms() {}

    static void rmsNorm(MemorySegment x, int n, MemorySegment w, int dim, float eps, MemorySegment out) {
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                rmsNormRow(x, out, (long) t * dim, dim, w, eps);
            }
        });
    }

    private static void rmsNormRow(MemorySegment x, MemorySegment out, long off, int dim, MemorySegment w,
                                   float eps) {
        float inv = (float) (1.0 / Math.sqrt(VectorMath.dot(x, off, x, off, dim) / dim + eps));
        int i = 0;
        for (; i <= dim - F.length(); i += F.length()) {
            VectorMath.load(x, off + i).mul(inv).mul(VectorMath.load(w, i))
                    .intoMemorySegment(out, (off + i) * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < dim; i++) {
            VectorMath.set(out, off + i, VectorMath.get(x, off + i) * inv * VectorMath.get(w, i));
        }
    }
}
