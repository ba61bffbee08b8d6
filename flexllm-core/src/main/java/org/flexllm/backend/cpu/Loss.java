package org.flexllm.backend.cpu;

import java.lang.foreign.MemorySegment;

/** Cross-entropy of next-token logits, and its gradient in place. */
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
        if (target < 0) {
            logits.asSlice(off * Float.BYTES, (long) vocab * Float.BYTES).fill((byte) 0);
            return 0;
        }
        float picked = VectorMath.get(logits, off + target);
        double logSumExp = VectorMath.softmax(logits, off, vocab);
        VectorMath.scale(logits, off, vocab, weight);
        VectorMath.set(logits, off + target, VectorMath.get(logits, off + target) - weight);
        return weight * (logSumExp - picked);
    }
}
