package org.flexllm.conformance;

import java.lang.foreign.MemorySegment;
import org.flexllm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The matrix products, the row copies and the elementwise updates of the Backend SPI against double-precision
 * loops. Shapes: one row, odd widths, widths under and over a vector, and sizes past a register tile.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
public class LinearConformance extends BackendSuite {

    /** {@code y (+)= x·Wᵀ}. */
    @ParameterizedTest(name = "{0} n={1} in={2} out={3} accumulate={4}")
    @CsvSource({"F32, 1, 1, 1, false", "F32, 1, 17, 5, true", "F32, 3, 64, 33, false", "F32, 37, 200, 70, true",
            "BF16, 1, 96, 40, false", "BF16, 7, 130, 19, true", "BF16, 33, 128, 64, false",
            "F16, 5, 48, 21, true"})
    void matmul(DType dtype, int n, int in, int out, boolean accumulate) {
        Operands o = operands(n * 31L + in * 7L + out);
        float[] x = o.floats(n * in);
        float[] y0 = o.floats(n * out);
        Operands.Weight w = o.weight(dtype, out, in);
        MemorySegment y = o.upload(y0);

        backend.matmul(o.upload(x), n, w.tensor(), y, accumulate);

        Expected e = new Expected(n * out);
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < out; j++) {
                if (accumulate) {
                    e.add(t * out + j, y0[t * out + j]);
                }
                for (int i = 0; i < in; i++) {
                    e.add(t * out + j, (double) x[t * in + i] * w.at(j, i));
                }
            }
        }
        e.assertMatches(o.download(y, n * out), Operands.tolerance(dtype), "matmul");
    }

    /** {@code dx (+)= dy·W}. */
    @ParameterizedTest(name = "{0} n={1} in={2} out={3} accumulate={4}")
    @CsvSource({"F32, 1, 1, 1, false", "F32, 1, 17, 5, true", "F32, 9, 70, 37, false", "BF16, 3, 130, 19, true",
            "BF16, 21, 64, 96, false"})
    void matmulTransposed(DType dtype, int n, int in, int out, boolean accumulate) {
        Operands o = operands(n * 13L + in * 5L + out);
        float[] dy = o.floats(n * out);
        float[] dx0 = o.floats(n * in);
        Operands.Weight w = o.weight(dtype, out, in);
        MemorySegment dx = o.upload(dx0);

        backend.matmulTransposed(o.upload(dy), n, w.tensor(), dx, accumulate);

        Expected e = new Expected(n * in);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < in; i++) {
                if (accumulate) {
                    e.add(t * in + i, dx0[t * in + i]);
                }
                for (int j = 0; j < out; j++) {
                    e.add(t * in + i, (double) dy[t * out + j] * w.at(j, i));
                }
            }
        }
        e.assertMatches(o.download(dx, n * in), Operands.tolerance(dtype), "matmulTransposed");
    }

    /** {@code dW += dyᵀ·x}, into a gradient that already holds values. */
    @ParameterizedTest(name = "n={0} in={1} out={2}")
    @CsvSource({"1, 1, 1", "1, 17, 5", "6, 33, 20", "45, 64, 24"})
    void matmulWeightGrad(int n, int in, int out) {
        Operands o = operands(n * 11L + in * 3L + out);
        float[] dy = o.floats(n * out);
        float[] x = o.floats(n * in);
        float[] dw0 = o.floats(out * in);
        MemorySegment dw = o.upload(dw0);

        backend.matmulWeightGrad(o.upload(dy), o.upload(x), n, out, in, dw);

        Expected e = new Expected(out * in);
        for (int j = 0; j < out; j++) {
            for (int i = 0; i < in; i++) {
                e.add(j * in + i, dw0[j * in + i]);
                for (int t = 0; t < n; t++) {
                    e.add(j * in + i, (double) dy[t * out + j] * x[t * in + i]);
                }
            }
        }
        e.assertMatches(o.download(dw, out * in), 1e-5, "matmulWeightGrad");
    }

    @ParameterizedTest(name = "{0} n={1} width={2}")
    @CsvSource({"F32, 1, 1", "F32, 3, 19", "BF16, 4, 64", "BF16, 1, 33"})
    void addBias(DType dtype, int n, int width) {
        Operands o = operands(n * 17L + width);
        float[] y0 = o.floats(n * width);
        Operands.Weight bias = o.weight(dtype, 0, width);
        MemorySegment y = o.upload(y0);

        backend.addBias(y, n, bias.tensor());

        Expected e = new Expected(n * width);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < width; i++) {
                e.add(t * width + i, y0[t * width + i]);
                e.add(t * width + i, bias.values()[i]);
            }
        }
        e.assertMatches(o.download(y, n * width), 1e-6, "addBias");
    }

    /** Rows of the table widened to f32 exactly, repeated ids included. */
    @ParameterizedTest(name = "{0} vocab={1} width={2} n={3}")
    @CsvSource({"F32, 1, 1, 1", "F32, 50, 17, 9", "BF16, 300, 64, 5", "F16, 11, 24, 12"})
    void embed(DType dtype, int vocab, int width, int n) {
        Operands o = operands(vocab * 7L + width + n);
        Operands.Weight table = o.weight(dtype, vocab, width);
        int[] ids = o.ints(n, 0, vocab);
        MemorySegment out = o.upload(new float[n * width]);

        backend.embed(table.tensor(), ids, n, out);

        Expected e = new Expected(n * width);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < width; i++) {
                e.set(t * width + i, table.at(ids[t], i));
            }
        }
        e.assertMatches(o.download(out, n * width), 0, "embed");
    }

    @ParameterizedTest(name = "rows={0} width={1}")
    @CsvSource({"1, 1", "5, 19", "8, 64"})
    void gatherRowsAndCopyRows(int count, int width) {
        Operands o = operands(count * 3L + width);
        int total = count + 4;
        float[] x = o.floats(total * width);
        int[] rows = o.ints(count, 0, total);
        MemorySegment gathered = o.upload(new float[count * width]);

        backend.gatherRows(o.upload(x), rows, count, width, gathered);

        Expected g = new Expected(count * width);
        for (int r = 0; r < count; r++) {
            for (int i = 0; i < width; i++) {
                g.set(r * width + i, x[rows[r] * width + i]);
            }
        }
        g.assertMatches(o.download(gathered, count * width), 0, "gatherRows");

        int srcStride = width + 3;
        int dstStride = width + 1;
        float[] src = o.floats(count * srcStride);
        float[] dst0 = o.floats(count * dstStride);
        MemorySegment dst = o.upload(dst0);
        backend.copyRows(o.upload(src), srcStride, dst, dstStride, count, width);
        Expected c = new Expected(count * dstStride);
        for (int r = 0; r < count; r++) {
            for (int i = 0; i < dstStride; i++) {
                c.set(r * dstStride + i, i < width ? src[r * srcStride + i] : dst0[r * dstStride + i]);
            }
        }
        c.assertMatches(o.download(dst, count * dstStride), 0, "copyRows (the gap between rows untouched)");
    }

    @ParameterizedTest(name = "count={0}")
    @CsvSource({"0", "1", "15", "100", "70001"})
    void axpyAndZero(int count) {
        Operands o = operands(count);
        float[] x = o.floats(count);
        float[] y0 = o.floats(count + 1);
        float a = -0.375f;
        MemorySegment y = o.upload(y0);

        backend.axpy(a, o.upload(x), y, count);

        Expected e = new Expected(count + 1);
        for (int i = 0; i < count; i++) {
            e.add(i, y0[i]);
            e.add(i, (double) a * x[i]);
        }
        e.set(count, y0[count]);
        e.assertMatches(o.download(y, count + 1), 1e-6, "axpy (the element after count untouched)");

        backend.zero(y, count);
        float[] zeroed = o.download(y, count + 1);
        Expected z = new Expected(count + 1);
        z.set(count, y0[count]);
        z.assertMatches(zeroed, 0, "zero (the element after count untouched)");
    }

    /** IA3's kernels: {@code x[t] *= scale} and its gradient {@code dScale += Σ_t dy[t] ⊙ x[t]}. */
    @ParameterizedTest(name = "n={0} width={1}")
    @CsvSource({"1, 1", "3, 19", "20, 64", "33, 300"})
    void mulRowsAndScaleGrad(int n, int width) {
        Operands o = operands(n * 5L + width);
        float[] x0 = o.floats(n * width);
        float[] scale = o.floats(width);
        float[] dy = o.floats(n * width);
        float[] dScale0 = o.floats(width);
        MemorySegment x = o.upload(x0);
        MemorySegment dScale = o.upload(dScale0);

        backend.mulRows(x, n, width, o.upload(scale));
        backend.mulRowsScaleGrad(o.upload(dy), o.upload(x0), n, width, dScale);

        Expected scaled = new Expected(n * width);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < width; i++) {
                scaled.add(t * width + i, (double) x0[t * width + i] * scale[i]);
            }
        }
        scaled.assertMatches(o.download(x, n * width), 1e-6, "mulRows");
        Expected grad = new Expected(width);
        for (int i = 0; i < width; i++) {
            grad.add(i, dScale0[i]);
            for (int t = 0; t < n; t++) {
                grad.add(i, (double) dy[t * width + i] * x0[t * width + i]);
            }
        }
        grad.assertMatches(o.download(dScale, width), 1e-5, "mulRowsScaleGrad");
    }

    /** A buffer comes zeroed, and a backend names itself as it was asked for. */
    @Test
    void allocateZeroedAndName() {
        Operands o = operands(1);
        float[] fresh = o.download(backend.allocate(333), 333);
        new Expected(333).assertMatches(fresh, 0, "allocate");
        if (!backend.name().equals(backendName)) {
            throw new AssertionError("backend created as '" + backendName + "' names itself '" + backend.name() + "'");
        }
    }
}
