package org.flexllm.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexllm.backend.AdamWStep;
import org.flexllm.backend.SgdStep;
import org.flexllm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What finetuning does between passes, against double-precision formulas: the SGD (plain, with momentum, with weight
 * decay) and AdamW updates, the global gradient norm's sum of squares and the clipping scale, and the buffers' way
 * in and out: allocation in a lifetime, upload, download and copies between buffers.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
public class OptimizerConformance extends BackendSuite {
    private static final double F32 = Operands.tolerance(DType.F32);

    /** {@code g' = g + wd·w}; {@code buf = g'} on the first step, else {@code momentum·buf + g'}; {@code w −= lr·buf}. */
    @ParameterizedTest(name = "count={0} momentum={1} wd={2} first={3}")
    @CsvSource({"1, 0, 0, true", "37, 0, 0.01, false", "100, 0.9, 0, true", "257, 0.9, 0.05, false"})
    void sgdStep(int count, double momentum, double weightDecay, boolean first) {
        Operands o = operands(count * 5L + (first ? 1 : 0));
        double lr = 0.1;
        float[] w = o.floats(count);
        float[] g = o.floats(count);
        float[] buf = o.floats(count);
        MemorySegment value = o.upload(w);
        MemorySegment buffer = momentum == 0 ? null : o.upload(buf);

        backend.sgdStep(value, o.upload(g), buffer, count, new SgdStep(lr, momentum, weightDecay, first));

        Expected wAfter = new Expected(count);
        Expected bufAfter = new Expected(count);
        for (int i = 0; i < count; i++) {
            bufAfter.add(i, g[i]);
            bufAfter.add(i, weightDecay * w[i]);
            if (momentum != 0 && !first) {
                bufAfter.add(i, momentum * buf[i]);
            }
            wAfter.add(i, w[i]);
            wAfter.add(i, -lr * bufAfter.value(i), lr * Math.abs(bufAfter.value(i)));
        }
        wAfter.assertMatches(o.download(value, count), F32, "sgdStep value");
        if (buffer != null) {
            bufAfter.assertMatches(o.download(buffer, count), F32, "sgdStep momentum buffer");
        }
    }

    /**
     * PyTorch's AdamW written out in double: {@code m = β1·m + (1−β1)·g}, {@code v = β2·v + (1−β2)·g²},
     * {@code w = w·(1 − lr·wd) − lr·m̂ / (√v̂ + eps)} with {@code m̂ = m / (1−β1^t)}, {@code v̂ = v / (1−β2^t)}.
     */
    @ParameterizedTest(name = "count={0} step={1}")
    @CsvSource({"1, 1", "64, 1", "129, 3", "300, 1000"})
    void adamWStep(int count, long step) {
        Operands o = operands(count * 3L + step);
        double lr = 1e-2;
        double beta1 = 0.9;
        double beta2 = 0.999;
        double eps = 1e-8;
        double weightDecay = 0.01;
        float[] w = o.floats(count);
        float[] g = o.floats(count);
        float[] m = o.floats(count);
        float[] v = o.floats(count);
        for (int i = 0; i < count; i++) {
            v[i] = v[i] * v[i];  // a second moment is never negative
        }
        MemorySegment value = o.upload(w);
        MemorySegment expAvg = o.upload(m);
        MemorySegment expAvgSq = o.upload(v);

        backend.adamWStep(value, o.upload(g), expAvg, expAvgSq, count,
                new AdamWStep(lr, beta1, beta2, eps, weightDecay, step));

        Expected wAfter = new Expected(count);
        Expected mAfter = new Expected(count);
        Expected vAfter = new Expected(count);
        for (int i = 0; i < count; i++) {
            mAfter.add(i, beta1 * m[i]);
            mAfter.add(i, (1 - beta1) * g[i]);
            vAfter.add(i, beta2 * v[i]);
            vAfter.add(i, (1 - beta2) * g[i] * g[i]);
            double mHat = mAfter.value(i) / (1 - Math.pow(beta1, step));
            double vHat = vAfter.value(i) / (1 - Math.pow(beta2, step));
            wAfter.add(i, w[i] * (1 - lr * weightDecay));
            wAfter.add(i, -lr * mHat / (Math.sqrt(vHat) + eps));
        }
        mAfter.assertMatches(o.download(expAvg, count), F32, "adamWStep exp_avg");
        vAfter.assertMatches(o.download(expAvgSq, count), F32, "adamWStep exp_avg_sq");
        wAfter.assertMatches(o.download(value, count), F32, "adamWStep value");
    }

    /** {@code Σ x²} over buffers of several sizes (counts below their lengths), in double; the same sum twice. */
    @Test
    void sumOfSquares() {
        Operands o = operands(17);
        int[] lengths = {1, 40, 1000, 7, 513};
        int[] counts = {1, 33, 1000, 0, 500};
        List<MemorySegment> buffers = new ArrayList<>();
        double expected = 0;
        for (int b = 0; b < lengths.length; b++) {
            float[] x = o.floats(lengths[b]);
            buffers.add(o.upload(x));
            for (int i = 0; i < counts[b]; i++) {
                expected += (double) x[i] * x[i];
            }
        }
        long[] asLongs = Arrays.stream(counts).asLongStream().toArray();
        double actual = backend.sumOfSquares(buffers, asLongs);
        assertEquals(expected, actual, 1e-12 * expected, "sumOfSquares in double");
        assertEquals(Double.doubleToLongBits(actual), Double.doubleToLongBits(backend.sumOfSquares(buffers, asLongs)),
                "sumOfSquares repeats its bits");
    }

    /** {@code x·factor} over the first {@code count} floats; the rest untouched. */
    @Test
    void scale() {
        Operands o = operands(23);
        float[] x = o.floats(301);
        MemorySegment buffer = o.upload(x);
        double factor = 0.3716;

        backend.scale(buffer, 300, factor);

        Expected y = new Expected(301);
        for (int i = 0; i < 300; i++) {
            y.set(i, x[i] * factor);
        }
        y.set(300, x[300]);
        y.assertMatches(o.download(buffer, 301), F32, "scale");
    }

    /**
     * A buffer of a lifetime starts zeroed; upload and download carry floats exactly; {@code copy} moves a run
     * between offsets of two buffers and leaves the rest of the destination alone.
     */
    @Test
    void buffersInAndOutAndCopied() {
        Operands o = operands(29);
        try (Arena lifetime = Arena.ofConfined()) {
            MemorySegment dst = backend.allocate(50, lifetime);
            assertArrayEquals(new float[50], o.download(dst, 50), "a new buffer is zeroed");
            float[] src = o.floats(40);
            MemorySegment from = backend.allocate(40, lifetime);
            backend.upload(MemorySegment.ofArray(src), from, 40);
            float[] back = new float[40];
            backend.download(from, MemorySegment.ofArray(back), 40);
            assertArrayEquals(src, back, "upload then download");

            backend.copy(from, 5, dst, 20, 30);
            float[] expected = new float[50];
            System.arraycopy(src, 5, expected, 20, 30);
            assertArrayEquals(expected, o.download(dst, 50), "copy of floats [5, 35) to [20, 50)");
        }
    }
}
