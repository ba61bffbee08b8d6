package org.flexllm.backend.cpu;

import static org.flexllm.backend.cpu.VectorMath.get;
import static org.flexllm.backend.cpu.VectorMath.set;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.backend.AdamWStep;
import org.flexllm.backend.SgdStep;

/**
 * The optimizers' elementwise updates and the gradient norm, one element after the other. An adapter has a few
 * hundred thousand parameters, updated once per step of thousands of tokens: vectors or threads would not show.
 */
final class Optimizers {
    private Optimizers() {}

    static void sgd(MemorySegment value, MemorySegment grad, MemorySegment buffer, long count, SgdStep s) {
        for (long i = 0; i < count; i++) {
            double w = get(value, i);
            double g = get(grad, i) + s.weightDecay() * w;
            if (s.momentum() != 0) {
                g = s.first() ? g : s.momentum() * get(buffer, i) + g;
                set(buffer, i, (float) g);
            }
            set(value, i, (float) (w - s.lr() * g));
        }
    }

    static void adamW(MemorySegment value, MemorySegment grad, MemorySegment expAvg, MemorySegment expAvgSq,
                      long count, AdamWStep s) {
        double beta1 = s.beta1();
        double beta2 = s.beta2();
        double stepSize = s.stepSize();
        double rootCorrection2 = s.rootCorrection2();
        double decay = s.decay();
        for (long i = 0; i < count; i++) {
            double g = get(grad, i);
            double m = beta1 * get(expAvg, i) + (1 - beta1) * g;
            double v = beta2 * get(expAvgSq, i) + (1 - beta2) * g * g;
            set(expAvg, i, (float) m);
            set(expAvgSq, i, (float) v);
            double w = get(value, i) * decay;
            set(value, i, (float) (w - stepSize * m / (Math.sqrt(v) / rootCorrection2 + s.eps())));
        }
    }

    /** Each buffer summed in order, the buffers' sums added in list order. */
    static double sumOfSquares(List<MemorySegment> buffers, long[] counts) {
        double total = 0;
        for (int b = 0; b < buffers.size(); b++) {
            MemorySegment x = buffers.get(b);
            double sum = 0;
            for (long i = 0; i < counts[b]; i++) {
                double v = get(x, i);
                sum += v * v;
            }
            total += sum;
        }
        return total;
    }

    static void scale(MemorySegment x, long count, double factor) {
        for (long i = 0; i < count; i++) {
            set(x, i, (float) (get(x, i) * factor));
        }
    }
}
