package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;

/** Placeholder until the kernels branch lands: scalar reference. */
public final class Matmul {
    private Matmul() {}

    public static void matmul(MemorySegment x, int n, Tensor w, MemorySegment y, boolean accumulate) {
        int in = w.cols();
        int out = w.rows();
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += Vectors.get(x, (long) t * in + i) * DTypes.read(w.dtype(), w.data(), (long) o * in + i);
                }
                long yi = (long) t * out + o;
                Vectors.set(y, yi, accumulate ? Vectors.get(y, yi) + sum : sum);
            }
        }
    }
}
