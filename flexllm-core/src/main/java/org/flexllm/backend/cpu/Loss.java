package org.flexllm.backend.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.flexllm.backend.cpu.Widen.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy of next-token logits, and its gradient in place. The log-sum-exp subtracts the row's maximum, so
 * no exponential overflows; the exponentials are vectorized, as there is one per vocabulary entry.
 */
final class Loss {
    private Loss() {}

    /**
     * Turns each row of {@code logits [rows, vocab]} into {@code weight·(softmax − onehot(target))}, or zeros when
     * its target is negative, and returns {@code Σ weight·CE} over the rows with a target.
     *
     * @throws IllegalArgumentException when a target is not below {@code vocab}; the logits are then untouched
     */
    static double crossEntropy(MemorySegment logits, int rows, int vocab, int[] targets, float weight) {
        for (int r = 0; r < rows; r++) {
            if (targets[r] >= vocab) {
                throw new IllegalArgumentException("target " + targets[r] + " of row " + r
                        + " is outside the vocabulary of " + vocab + " logits");
            }
        }
        double[] losses = Scratch.get().losses(rows);
        Parallel.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                losses[r] = row(logits, (long) r * vocab, vocab, targets[r], weight);
            }
        });
        double sum = 0;
        for (int r = 0; r < rows; r++) {
            sum += losses[r];
        }
        return sum;
    }

    /** One row at float index {@code off}: the gradient in place, its weighted cross-entropy returned. */
    private static double row(MemorySegment logits, long off, int vocab, int target, float weight) {
        MemorySegment row = logits.asSlice(off * Float.BYTES, (long) vocab * Float.BYTES);
        if (target < 0) {
            row.fill((byte) 0);
            return 0;
        }
        float picked = VectorMath.get(row, target);
        float max = max(row, vocab);
        float sum = exponentiate(row, vocab, max);
        scale(row, vocab, weight / sum);
        VectorMath.set(row, target, VectorMath.get(row, target) - weight);
        return weight * (max + Math.log(sum) - picked);
    }

    private static float max(MemorySegment row, int len) {
        int vectorEnd = len - len % F.length();
        FloatVector maxima = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            maxima = maxima.max(VectorMath.load(row, i));
        }
        float max = maxima.reduceLanes(VectorOperators.MAX);
        for (int i = vectorEnd; i < len; i++) {
            max = Math.max(max, VectorMath.get(row, i));
        }
        return max;
    }

    /** {@code row[i] = e^(row[i] − max)}; returns their sum. */
    private static float exponentiate(MemorySegment row, int len, float max) {
        int vectorEnd = len - len % F.length();
        FloatVector sums = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += F.length()) {
            FloatVector e = VectorMath.load(row, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoMemorySegment(row, (long) i * Float.BYTES, LITTLE_ENDIAN);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (int i = vectorEnd; i < len; i++) {
            float e = (float) Math.exp(VectorMath.get(row, i) - max);
            VectorMath.set(row, i, e);
            sum += e;
        }
        return sum;
    }

    private static void scale(MemorySegment row, int len, float factor) {
        int vectorEnd = len - len % F.length();
        for (int i = 0; i < vectorEnd; i += F.length()) {
            VectorMath.load(row, i).mul(factor).intoMemorySegment(row, (long) i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (int i = vectorEnd; i < len; i++) {
            VectorMath.set(row, i, VectorMath.get(row, i) * factor);
        }
    }
}
