package org.flexllm.graph;

import org.flexllm.kv.BlockTable;

/**
 * A finetuning sample on its way through the model: its tokens, what each position is trained to predict, its
 * KV blocks, what its forward keeps ({@link Tape}) and the loss accumulated over its forward windows.
 */
public final class TrainingSequence {
    /** The label HF uses for a position that is not trained. */
    public static final int IGNORE = -100;

    private final int[] tokens;
    private final int[] targets;
    private final int targetCount;
    private final Tape tape;
    private final long seed;
    private final boolean dropout;
    private final BlockTable blocks = new BlockTable();
    private double loss;

    /** A sequence run without dropout: an evaluation, or a model without any. */
    public TrainingSequence(int[] inputIds, int[] labels, Tape tape) {
        this(inputIds, labels, tape, 0, false);
    }

    /**
     * A training sample.
     *
     * @param seed the seed of its dropout masks (a job derives it from its seed and the sample's place in the
     *             data order, so that a resumed job draws the same masks)
     */
    public TrainingSequence(int[] inputIds, int[] labels, Tape tape, long seed) {
        this(inputIds, labels, tape, seed, true);
    }

    /**
     * @param inputIds the sample's tokens
     * @param labels   HF convention: not shifted, {@link #IGNORE} where untrained; position {@code p} is trained
     *                 to predict {@code labels[p + 1]}
     */
    private TrainingSequence(int[] inputIds, int[] labels, Tape tape, long seed, boolean dropout) {
        if (labels.length != inputIds.length) {
            throw new IllegalArgumentException(labels.length + " labels for " + inputIds.length + " tokens");
        }
        if (inputIds.length > tape.maxTokens()) {
            throw new IllegalArgumentException("a sample of " + inputIds.length + " tokens exceeds the tape's "
                    + tape.maxTokens());
        }
        this.tokens = inputIds.clone();
        this.targets = new int[inputIds.length];
        int count = 0;
        for (int p = 0; p < targets.length; p++) {
            targets[p] = p + 1 < labels.length && labels[p + 1] != IGNORE ? labels[p + 1] : -1;
            count += targets[p] >= 0 ? 1 : 0;
        }
        this.targetCount = count;
        this.tape = tape;
        this.seed = seed;
        this.dropout = dropout;
    }

    private TrainingSequence(TrainingSequence s, Tape tape) {
        this.tokens = s.tokens;
        this.targets = s.targets;
        this.targetCount = s.targetCount;
        this.tape = tape;
        this.seed = s.seed;
        this.dropout = s.dropout;
    }

    /**
     * The same sample kept on another tape, with a loss and KV blocks of its own: what another rank of a
     * tensor-parallel group runs while this one runs on the leader (the ranks' forwards keep different activations).
     */
    public TrainingSequence onTape(Tape other) {
        if (length() > other.maxTokens()) {
            throw new IllegalArgumentException("a sample of " + length() + " tokens exceeds the tape's "
                    + other.maxTokens());
        }
        return new TrainingSequence(this, other);
    }

    /** Whether bypass ops apply their dropout to this sequence (training, not evaluation). */
    public boolean dropsOut() {
        return dropout;
    }

    /** The seed of this sample's dropout masks. */
    public long seed() {
        return seed;
    }

    public int length() {
        return tokens.length;
    }

    public int token(int position) {
        return tokens[position];
    }

    /** The token position {@code p} is trained to predict, or −1. */
    public int target(int position) {
        return targets[position];
    }

    /** Positions with a target: the terms of this sample's loss. */
    public int targetCount() {
        return targetCount;
    }

    public Tape tape() {
        return tape;
    }

    public BlockTable blocks() {
        return blocks;
    }

    /** The weighted loss accumulated by the forward windows so far. */
    public double loss() {
        return loss;
    }

    void addLoss(double weightedLoss) {
        loss += weightedLoss;
    }
}
