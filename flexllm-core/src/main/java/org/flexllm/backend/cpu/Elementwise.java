package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Elementwise f32 updates of whole buffers: gradient accumulation ({@link #axpy}) and the per-column scaling of
 * IA3-style bypasses ({@link #mulRows}) with its gradient.
 */
final class Elementwise {
    /** Floats per work item: enough to amortize a claim, small enough to balance the cores. */
    private static final int CHUNK = 1 << 16;
    /** Columns per work item of {@link #mulRowsScaleGrad}. */
    private static final int COLUMNS = 8 * F.length();

    private Elementwise() {}

    /** {@code y += a·x} over {@code count} floats. */
    static void axpy(float a, MemorySegment x, MemorySegment y, long count) {
        if (count <= CHUNK) {
            // One work item: run it here rather than allocate a body for the pool (a row's gradient, say).
            VectorMath.axpy(a, x, 0, y, 0, (int) count);
            return;
        }
        Parallel.forRange(Math.toIntExact(Math.ceilDiv(count, CHUNK)), (from, to) -> {
            for (int c = from; c < to; c++) {
                long start = (long) c * CHUNK;
                VectorMath.axpy(a, x, start, y, start, (int) Math.min(CHUNK, count - start));
            }
        });
    }

    /** {@code x[t, i] *= scale[i]} for each of {@code n} rows of {@code width}. */
    static void mulRows(MemorySegment x, int n, int width, MemorySegment scale) {
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                long off = (long) t * width;
                int i = 0;
                for (; i <= width - F.length(); i += F.length()) {
                    VectorMath.load(x, off + i).mul(VectorMath.load(scale, i))
                            .intoMemorySegment(x, (off + i) * Float.BYTES, LITTLE_ENDIAN);
                }
                for (; i < width; i++) {
                    VectorMath.set(x, off + i, VectorMath.get(x, off + i) * VectorMath.get(scale, i));
                }
            }
        });
    }

    /**
     * {@code dScale[i] += Σ_t dy[t, i]·x[t, i]}. The cores split the columns, so that each element of dScale has
     * one writer; a vector of them accumulates over all rows in a register.
     */
    static void mulRowsScaleGrad(MemorySegment dy, MemorySegment x, int n, int width, MemorySegment dScale) {
        Parallel.forRange(Math.ceilDiv(width, COLUMNS), (from, to) -> {
            int end = Math.min(width, to * COLUMNS);
            int i = from * COLUMNS;
            for (; i <= end - F.length(); i += F.length()) {
                FloatVector sum = VectorMath.load(dScale, i);
                for (int t = 0; t < n; t++) {
                    long at = (long) t * width + i;
                    sum = VectorMath.fma(VectorMath.load(dy, at), VectorMath.load(x, at), sum);
                }
                sum.intoMemorySegment(dScale, (long) i * Float.BYTES, LITTLE_ENDIAN);
            }
            for (; i < end; i++) {
                float sum = VectorMath.get(dScale, i);
                for (int t = 0; t < n; t++) {
                    long at = (long) t * width + i;
                    sum += VectorMath.get(dy, at) * VectorMath.get(x, at);
                }
                VectorMath.set(dScale, i, sum);
            }
        });
    }
}
