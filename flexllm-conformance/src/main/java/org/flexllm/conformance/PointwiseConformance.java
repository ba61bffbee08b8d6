package org.flexllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.flexllm.backend.Backend;
import org.flexllm.backend.VocabShard;
import org.flexllm.model.Rope.RopeTable;
import org.flexllm.tensor.DType;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The row-wise kernels and their gradients against double-precision formulas: RMSNorm, RoPE, SwiGLU, the
 * cross-entropy (whole rows, and split over vocabulary shards), and dropout (whose hash no reference can know: its mask is checked by what it must satisfy).
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
public class PointwiseConformance extends BackendSuite {
    private static final float EPS = 1e-5f;
    /** The cross-entropy's weight per target. */
    private static final float WEIGHT = 0.75f;

    /** {@code x / sqrt(mean(x²) + eps) * w}, and the gradient it adds into {@code dx}. */
    @ParameterizedTest(name = "{0} n={1} width={2}")
    @CsvSource({"F32, 1, 1", "F32, 3, 17", "F32, 8, 64", "F32, 17, 100", "BF16, 5, 96", "BF16, 1, 33"})
    void rmsNormAndBackward(DType dtype, int n, int width) {
        Operands o = operands(n * 7L + width);
        float[] x = o.floats(n * width);
        float[] dy = o.floats(n * width);
        float[] dx0 = o.floats(n * width);
        Operands.Weight w = o.weight(dtype, 0, width);
        MemorySegment out = o.upload(new float[n * width]);
        MemorySegment dx = o.upload(dx0);
        MemorySegment xs = o.upload(x);

        backend.rmsNorm(xs, n, w.tensor(), EPS, out);
        backend.rmsNormBackward(xs, o.upload(dy), n, w.tensor(), EPS, dx);

        Expected y = new Expected(n * width);
        Expected grad = new Expected(n * width);
        for (int t = 0; t < n; t++) {
            int off = t * width;
            double squares = 0;
            double gx = 0;
            double gxMagnitude = 0;
            for (int i = 0; i < width; i++) {
                squares += (double) x[off + i] * x[off + i];
                gx += dy[off + i] * w.values()[i] * x[off + i];
                gxMagnitude += Math.abs(dy[off + i] * w.values()[i] * x[off + i]);
            }
            double inv = 1 / Math.sqrt(squares / width + EPS);
            for (int i = 0; i < width; i++) {
                y.set(off + i, x[off + i] * inv * w.values()[i]);
                grad.add(off + i, dx0[off + i]);
                grad.add(off + i, inv * dy[off + i] * w.values()[i]);
                double through = inv * inv * inv * x[off + i] / width;
                grad.add(off + i, -through * gx, Math.abs(through) * gxMagnitude);
            }
        }
        y.assertMatches(o.download(out, n * width), Operands.tolerance(dtype), "rmsNorm");
        grad.assertMatches(o.download(dx, n * width), Operands.tolerance(dtype), "rmsNormBackward");
    }

    /**
     * Dimension {@code i} of a head turns with {@code i + half} by {@code position · θ^(−2i/headDim)}; the backward
     * turns back by the same angle. The angles here are exact doubles, the table holds them rounded to f32.
     */
    @ParameterizedTest(name = "n={0} heads={1} headDim={2}")
    @CsvSource({"1, 1, 2", "1, 1, 8", "3, 2, 42", "5, 3, 64", "2, 4, 128"})
    void ropeAndBackward(int n, int heads, int headDim) {
        Operands o = operands(n * 3L + heads * 11L + headDim);
        int half = headDim / 2;
        int maxPositions = 300;
        double[][] angle = new double[maxPositions][half];
        float[] cos = new float[maxPositions * half];
        float[] sin = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                angle[p][i] = p * Math.pow(10000, -2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(angle[p][i]);
                sin[p * half + i] = (float) Math.sin(angle[p][i]);
            }
        }
        RopeTable table = new RopeTable(half, maxPositions, cos, sin);
        int[] positions = o.ints(n, 0, maxPositions);
        int width = heads * headDim;
        float[] x = o.floats(n * width);
        MemorySegment forward = o.upload(x);
        MemorySegment backward = o.upload(x);

        backend.rope(forward, n, heads, positions, table);
        backend.ropeBackward(backward, n, heads, positions, table);

        Expected turned = new Expected(n * width);
        Expected back = new Expected(n * width);
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int off = t * width + h * headDim;
                for (int i = 0; i < half; i++) {
                    double c = Math.cos(angle[positions[t]][i]);
                    double s = Math.sin(angle[positions[t]][i]);
                    double a = x[off + i];
                    double b = x[off + i + half];
                    turned.add(off + i, a * c);
                    turned.add(off + i, -b * s);
                    turned.add(off + i + half, b * c);
                    turned.add(off + i + half, a * s);
                    back.add(off + i, a * c);
                    back.add(off + i, b * s);
                    back.add(off + i + half, b * c);
                    back.add(off + i + half, -a * s);
                }
            }
        }
        turned.assertMatches(o.download(forward, n * width), 1e-5, "rope");
        back.assertMatches(o.download(backward, n * width), 1e-5, "ropeBackward");
    }

    /** {@code silu(g)·u} and its gradients {@code dGate = dOut·u·σ(g)(1 + g(1 − σ(g)))}, {@code dUp = dOut·silu(g)}. */
    @ParameterizedTest(name = "n={0} width={1}")
    @CsvSource({"1, 1", "3, 19", "7, 100", "6, 160"})
    void swigluAndBackward(int n, int width) {
        Operands o = operands(n * 13L + width);
        int count = n * width;
        float[] gate = o.floats(count);
        for (int i = 0; i < count; i++) {
            gate[i] *= 12;  // both tails of the sigmoid, not only its linear middle
        }
        float[] up = o.floats(count);
        float[] dOut = o.floats(count);
        MemorySegment gates = o.upload(gate);
        MemorySegment ups = o.upload(up);
        MemorySegment out = o.upload(new float[count]);
        MemorySegment dGate = o.upload(o.floats(count));
        MemorySegment dUp = o.upload(o.floats(count));

        backend.swiglu(gates, ups, n, width, out);
        backend.swigluBackward(gates, ups, o.upload(dOut), n, width, dGate, dUp);

        Expected y = new Expected(count);
        Expected dg = new Expected(count);
        Expected du = new Expected(count);
        for (int i = 0; i < count; i++) {
            double g = gate[i];
            double sigma = 1 / (1 + Math.exp(-g));
            y.set(i, g * sigma * up[i]);
            dg.add(i, dOut[i] * up[i] * sigma);
            dg.add(i, dOut[i] * up[i] * sigma * g * (1 - sigma));
            du.set(i, dOut[i] * g * sigma);
        }
        y.assertMatches(o.download(out, count), 1e-5, "swiglu");
        dg.assertMatches(o.download(dGate, count), 1e-5, "swigluBackward dGate");
        du.assertMatches(o.download(dUp, count), 1e-5, "swigluBackward dUp");
    }

    /**
     * {@code Σ weight·(logsumexp(row) − row[target])} over the rows with a target, and each row replaced by its
     * gradient {@code weight·(softmax − onehot)}; a row without a target (−1) becomes zeros.
     */
    @ParameterizedTest(name = "rows={0} vocab={1} spread={2} offset={3}")
    @CsvSource({"1, 1, 8, 0", "1, 7, 1, 0", "4, 33, 8, 0", "9, 512, 8, 0", "4, 1000, 8, 200", "2, 32, 30, -500"})
    void crossEntropy(int rows, int vocab, float spread, float offset) {
        Operands o = operands(rows * 29L + vocab);
        float[] logits = logits(o, rows * vocab, spread, offset);
        int[] targets = targets(o, rows, vocab);
        MemorySegment buffer = o.upload(logits);

        double loss = backend.crossEntropy(buffer, rows, vocab, targets, WEIGHT);

        CrossEntropy expected = CrossEntropy.of(logits, rows, vocab, targets);
        expected.grad().assertMatches(o.download(buffer, rows * vocab), 1e-5, "crossEntropy gradient");
        expected.assertLoss(loss, "crossEntropy");
    }

    /**
     * The same cross-entropy with the vocabulary split over {@code ranks} shards of {@code ceil(vocab / ranks)}
     * columns (the last padded with junk that must not count): each shard's {@link Backend#shardSoftmax} stats,
     * gathered rank-major, let each shard's {@link Backend#shardCrossEntropy} make its columns of the whole row's
     * gradient and the whole loss.
     */
    @ParameterizedTest(name = "rows={0} vocab={1} ranks={2} spread={3} offset={4}")
    @CsvSource({"1, 7, 2, 1, 0", "4, 33, 4, 8, 0", "9, 512, 2, 8, 0", "4, 1000, 3, 8, 200", "2, 32, 4, 30, -500"})
    void shardedCrossEntropy(int rows, int vocab, int ranks, float spread, float offset) {
        Operands o = operands(rows * 31L + vocab + ranks);
        float[] logits = logits(o, rows * vocab, spread, offset);
        int[] targets = targets(o, rows, vocab);
        int width = Math.ceilDiv(vocab, ranks);
        List<VocabShard> shards = new ArrayList<>();
        List<MemorySegment> buffers = new ArrayList<>();
        int each = rows * VocabShard.STATS;
        float[] stats = new float[ranks * each];
        for (int k = 0; k < ranks; k++) {
            shards.add(new VocabShard(k, ranks, width, Math.min(width, vocab - k * width)));
            float[] shard = o.floats(rows * width);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(logits, r * vocab + k * width, shard, r * width, shards.get(k).valid());
            }
            buffers.add(o.upload(shard));
            MemorySegment own = o.upload(new float[each]);
            backend.shardSoftmax(buffers.get(k), rows, shards.get(k), targets, own);
            System.arraycopy(o.download(own, each), 0, stats, k * each, each);
        }
        MemorySegment gathered = o.upload(stats);
        float[] grad = new float[rows * vocab];
        CrossEntropy expected = CrossEntropy.of(logits, rows, vocab, targets);
        for (int k = 0; k < ranks; k++) {
            VocabShard shard = shards.get(k);
            double loss = backend.shardCrossEntropy(buffers.get(k), rows, shard, targets, gathered, WEIGHT);
            expected.assertLoss(loss, "shardCrossEntropy on rank " + k);
            float[] out = o.download(buffers.get(k), rows * width);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(out, r * width, grad, r * vocab + shard.first(), shard.valid());
                for (int c = shard.valid(); c < width; c++) {
                    assertEquals(0f, out[r * width + c], "rank " + k + " row " + r + ": padding column " + c);
                }
            }
        }
        expected.grad().assertMatches(grad, 1e-5, "shardCrossEntropy gradient");
    }

    private static float[] logits(Operands o, int count, float spread, float offset) {
        float[] logits = o.floats(count);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = logits[i] * spread + offset;  // the softmax must not overflow or cancel away
        }
        return logits;
    }

    /** A target per row, but none (−1) in the middle row of several. */
    private static int[] targets(Operands o, int rows, int vocab) {
        int[] targets = o.ints(rows, 0, vocab);
        if (rows > 1) {
            targets[rows / 2] = -1;
        }
        return targets;
    }

    /** The cross-entropy of rows of logits in double: its gradient, its loss and the magnitude of the loss's terms. */
    private record CrossEntropy(Expected grad, double loss, double magnitude) {
        static CrossEntropy of(float[] logits, int rows, int vocab, int[] targets) {
            Expected grad = new Expected(rows * vocab);
            double loss = 0;
            double magnitude = 0;
            for (int r = 0; r < rows; r++) {
                if (targets[r] < 0) {
                    continue;
                }
                int off = r * vocab;
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < vocab; v++) {
                    max = Math.max(max, logits[off + v]);
                }
                double sum = 0;
                for (int v = 0; v < vocab; v++) {
                    sum += Math.exp(logits[off + v] - max);
                }
                double logSumExp = max + Math.log(sum);
                loss += WEIGHT * (logSumExp - logits[off + targets[r]]);
                magnitude += WEIGHT * (Math.abs(logSumExp) + Math.abs(logits[off + targets[r]]));
                for (int v = 0; v < vocab; v++) {
                    grad.add(off + v, WEIGHT * Math.exp(logits[off + v] - logSumExp));
                    grad.add(off + v, v == targets[r] ? -WEIGHT : 0);
                }
            }
            return new CrossEntropy(grad, loss, magnitude);
        }

        void assertLoss(double actual, String what) {
            if (!(Math.abs(actual - loss) <= 1e-5 * magnitude)) {
                throw new AssertionError(what + " loss " + actual + ", expected " + loss);
            }
        }
    }

    /**
     * Every element is either dropped (0) or scaled by {@code 1/(1 − p)}; about {@code p} of them are dropped; the
     * mask is a function of (seed, position, column) alone, so the rows of the same positions at another row
     * offset, and a second run, drop the same elements; in place equals out of place; a slice of the columns, given
     * its first column, drops what the whole rows drop there; another seed drops others.
     */
    @ParameterizedTest(name = "p={0}")
    @CsvSource({"0.1", "0.5"})
    void dropout(float p) {
        Operands o = operands((long) (p * 100));
        int n = 64;
        int width = 96;
        int count = n * width;
        float[] x = o.floats(count);
        int[] positions = new int[n + 5];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = 1000 + 3 * i;
        }
        MemorySegment xs = o.upload(x);
        MemorySegment out = o.upload(new float[count]);
        backend.dropout(xs, n, width, p, 42, positions, 0, 0, out);
        float[] first = o.download(out, count);

        int dropped = 0;
        for (int i = 0; i < count; i++) {
            if (first[i] == 0) {
                dropped++;
            } else if (!(Math.abs(first[i] - x[i] / (1 - p)) <= 1e-6 * Math.abs(x[i] / (1 - p)))) {
                throw new AssertionError("dropout element " + i + " is " + first[i] + ", neither 0 nor x/(1-p)");
            }
        }
        double sd = Math.sqrt(count * p * (1 - p));
        if (Math.abs(dropped - count * p) > 6 * sd) {
            throw new AssertionError("dropout dropped " + dropped + " of " + count + " at p=" + p);
        }

        // Rows 1.. of the batch again, as rows 0.. of a batch starting one row later: the same positions.
        MemorySegment shifted = o.upload(java.util.Arrays.copyOfRange(x, width, count));
        backend.dropout(shifted, n - 1, width, p, 42, positions, 1, 0, shifted);
        float[] again = o.download(shifted, count - width);
        for (int i = 0; i < count - width; i++) {
            if (Float.compare(again[i], first[i + width]) != 0) {
                throw new AssertionError("dropout at the same (seed, position, column) differs in place, element "
                        + (i + width));
            }
        }

        // Columns 32..63 alone, as a tensor-parallel rank holds them: the same elements as in the whole rows.
        int slice = 32;
        float[] columns = new float[n * slice];
        for (int r = 0; r < n; r++) {
            System.arraycopy(x, r * width + slice, columns, r * slice, slice);
        }
        MemorySegment part = o.upload(columns);
        backend.dropout(part, n, slice, p, 42, positions, 0, slice, part);
        float[] ofPart = o.download(part, n * slice);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < slice; c++) {
                if (Float.compare(ofPart[r * slice + c], first[r * width + slice + c]) != 0) {
                    throw new AssertionError("dropout of columns from " + slice + " on differs from the whole rows' at"
                            + " row " + r + ", column " + (slice + c));
                }
            }
        }

        backend.dropout(xs, n, width, p, 43, positions, 0, 0, out);
        float[] otherSeed = o.download(out, count);
        int differ = 0;
        for (int i = 0; i < count; i++) {
            differ += (otherSeed[i] == 0) != (first[i] == 0) ? 1 : 0;
        }
        if (differ == 0) {
            throw new AssertionError("dropout with another seed dropped exactly the same elements");
        }
    }
}
