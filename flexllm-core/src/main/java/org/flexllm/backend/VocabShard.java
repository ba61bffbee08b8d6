package org.flexllm.backend;

/**
 * A tensor-parallel rank's slice of the vocabulary, as its lm_head computes it: rows of {@code width} logits, the
 * whole vocabulary's columns {@code [rank·width, rank·width + valid)} (the last rank's slice is padded past
 * {@code valid}).
 *
 * @param rank  this rank
 * @param ranks ranks in the group
 * @param width logits per row on every rank
 * @param valid columns of the row that hold the vocabulary's logits, the rest padding
 */
public record VocabShard(int rank, int ranks, int width, int valid) {
    /**
     * Floats of a row's statistics ({@link Backend#shardSoftmax}): the shard's log-sum-exp as a float and the float
     * of its remainder (a float alone would lose {@code |L|·2⁻²⁴} of every probability), and the target's logit.
     */
    public static final int STATS = 3;

    public VocabShard {
        if (rank < 0 || rank >= ranks || valid < 1 || valid > width) {
            throw new IllegalArgumentException("rank " + rank + " of " + ranks + " with " + valid + " of " + width
                    + " columns is not a vocabulary shard");
        }
    }

    /** The whole vocabulary's column of this shard's column 0. */
    public int first() {
        return rank * width;
    }

    /** This shard's column of the vocabulary's {@code token}, or −1 when another rank holds it. */
    public int column(int token) {
        int c = token - first();
        return c >= 0 && c < valid ? c : -1;
    }
}
