package org.flexllm.sampling;

import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The distribution a {@link SamplingParams} defines over one logits row, computed the plain way the HF logits
 * warpers do it: in double, sorting the whole vocabulary. The oracle for the sampler's tests.
 */
final class ReferenceDistribution {
    private ReferenceDistribution() {
    }

    static double[] of(float[] logits, SamplingParams params, int... history) {
        double[] x = new double[logits.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = logits[i];
        }
        double penalty = params.repetitionPenalty();
        IntStream.of(history).distinct().forEach(id -> x[id] = x[id] > 0 ? x[id] / penalty : x[id] * penalty);
        for (int i = 0; i < x.length; i++) {
            x[i] /= params.temperature();
        }
        int[] order = IntStream.range(0, x.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -x[i]).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
        double[] p = new double[x.length];
        int kept = params.topK() > 0 ? Math.min(params.topK(), x.length) : x.length;
        for (int r = 0; r < kept; r++) {
            p[order[r]] = Math.exp(x[order[r]] - x[order[0]]);
        }
        normalize(p);
        if (params.topP() < 1) {
            double cumulative = 0;
            for (int id : order) {
                if (cumulative >= params.topP()) {
                    p[id] = 0;
                }
                cumulative += p[id];
            }
            normalize(p);
        }
        double max = p[order[0]];
        for (int i = 0; i < p.length; i++) {
            if (p[i] < params.minP() * max) {
                p[i] = 0;
            }
        }
        normalize(p);
        return p;
    }

    private static void normalize(double[] p) {
        double sum = 0;
        for (double v : p) {
            sum += v;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
    }

    /** log_softmax of the raw row, in double. */
    static double[] logSoftmax(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        double logSumExp = max + Math.log(sum);
        double[] out = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            out[i] = row[i] - logSumExp;
        }
        return out;
    }

    /** A row of independent normal logits with the given spread. */
    static float[] gaussianRow(int size, double spread, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] row = new float[size];
        for (int i = 0; i < size; i++) {
            row[i] = (float) (random.nextGaussian() * spread);
        }
        return row;
    }
}
