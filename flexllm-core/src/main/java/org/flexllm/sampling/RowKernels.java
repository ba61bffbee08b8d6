package org.flexllm.sampling;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over whole logits rows. Vocabulary-wide exponentials dominate the cost of sampling and of
 * log-probabilities; with the vector exp they run about 20 times faster than {@link Math#exp} one by one.
 */
final class RowKernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private RowKernels() {
    }

    static float max(float[] row) {
        FloatVector lanes = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < SPECIES.loopBound(row.length); i += SPECIES.length()) {
            lanes = lanes.max(FloatVector.fromArray(SPECIES, row, i));
        }
        float max = lanes.reduceLanes(VectorOperators.MAX);
        for (; i < row.length; i++) {
            max = Math.max(max, row[i]);
        }
        return max;
    }

    /** The first index at or after {@code from} whose entry exceeds {@code floor}, or the row length. */
    static int firstAbove(float[] row, int from, float floor) {
        int i = from;
        for (; i < from + SPECIES.loopBound(row.length - from); i += SPECIES.length()) {
            VectorMask<Float> above = FloatVector.fromArray(SPECIES, row, i).compare(VectorOperators.GT, floor);
            if (above.anyTrue()) {
                return i + above.firstTrue();
            }
        }
        for (; i < row.length; i++) {
            if (row[i] > floor) {
                return i;
            }
        }
        return row.length;
    }

    /** {@code sum(exp(row - shift))}; each vector's lanes are added in float, the running total is double. */
    static double sumExp(float[] row, float shift) {
        double sum = 0;
        int i = 0;
        for (; i < SPECIES.loopBound(row.length); i += SPECIES.length()) {
            sum += FloatVector.fromArray(SPECIES, row, i).sub(shift).lanewise(VectorOperators.EXP)
                    .reduceLanes(VectorOperators.ADD);
        }
        for (; i < row.length; i++) {
            sum += Math.exp(row[i] - shift);
        }
        return sum;
    }

    /** {@code out = exp((row - shift) / temperature)}. */
    static void exp(float[] row, float shift, float temperature, float[] out) {
        int i = 0;
        for (; i < SPECIES.loopBound(row.length); i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, row, i).sub(shift).div(temperature).lanewise(VectorOperators.EXP)
                    .intoArray(out, i);
        }
        for (; i < row.length; i++) {
            out[i] = (float) Math.exp((row[i] - shift) / temperature);
        }
    }
}
