package org.flexllm.sampling;

import jdk.incubator.vector.FloatVector;
import org.flexllm.backend.cpu.Exp;
import org.flexllm.backend.cpu.VectorMath;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over whole logits rows. Vocabulary-wide exponentials dominate the cost of sampling and of
 * log-probabilities; the vector form of {@link Exp} runs them many times faster than one by one, with the same bits in every JIT tier.
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
            sum += VectorMath.sumLanes(Exp.exp(FloatVector.fromArray(SPECIES, row, i).sub(shift)));
        }
        for (; i < row.length; i++) {
            sum += Exp.exp(row[i] - shift);
        }
        return sum;
    }

    /** {@code out = exp((row - shift) / temperature)}. */
    static void exp(float[] row, float shift, float temperature, float[] out) {
        int i = 0;
        for (; i < SPECIES.loopBound(row.length); i += SPECIES.length()) {
            Exp.exp(FloatVector.fromArray(SPECIES, row, i).sub(shift).div(temperature)).intoArray(out, i);
        }
        for (; i < row.length; i++) {
            out[i] = Exp.exp((row[i] - shift) / temperature);
        }
    }
}
