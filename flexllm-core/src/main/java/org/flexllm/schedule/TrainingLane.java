package org.flexllm.schedule;

import org.flexllm.graph.TrainingSequence;

/**
 * A finetuning job's token accounting, as {@link Sequence} is a request's: the sample in its forward windows
 * (how many of its tokens are computed) and the sample in its backward slices (the layer the next slice starts
 * from, and how many of that layer's rows are left: a slice smaller than a layer runs a chunk of its rows, the
 * last rows first). A sample whose forward is complete waits for the backward slot to free.
 */
public final class TrainingLane {
    private final double weight;
    private final int layers;
    private TrainingSequence forward;
    private int forwardDone;
    private TrainingSequence backward;
    private int backwardTop;
    private int backwardRowsLeft;
    private double served;

    /**
     * @param weight the job's share of finetuning time relative to other jobs
     * @param layers the model's layers: a backward starts above the last
     */
    public TrainingLane(double weight, int layers) {
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("a job's weight must be positive and finite, was " + weight);
        }
        this.weight = weight;
        this.layers = layers;
    }

    /** Whether the forward slot is free for a new sample. */
    public boolean wantsSample() {
        return forward == null;
    }

    public void start(TrainingSequence sample) {
        forward = sample;
        forwardDone = 0;
    }

    /** The sample in its forward windows, or null. */
    public TrainingSequence forwardSample() {
        return forward;
    }

    /** The first position of the next forward window. */
    public int forwardDone() {
        return forwardDone;
    }

    public int forwardLeft() {
        return forward == null ? 0 : forward.length() - forwardDone;
    }

    /** {@code count} more tokens went through the forward; a complete sample moves on to the backward slot. */
    public void forwarded(int count) {
        forwardDone += count;
        promote();
    }

    /** The sample in its backward slices, or null. */
    public TrainingSequence backwardSample() {
        return backward;
    }

    /** The layer the next backward slice starts above (it runs layers {@code [top - n, top)}). */
    public int backwardTop() {
        return backwardTop;
    }

    /**
     * How many rows of layer {@code backwardTop() − 1} are still to run: rows {@code [0, left)}, the ones above
     * are done. The whole sample while no chunk of the layer has run.
     */
    public int backwardRowsLeft() {
        return backwardRowsLeft;
    }

    /** The slice ran; returns whether the sample's backward is complete. */
    public boolean backwarded(CoServingPlan.Slice slice) {
        backwardRowsLeft -= slice.rows();
        if (backwardRowsLeft > 0) {
            return false;
        }
        backwardTop -= slice.layers();
        backwardRowsLeft = backward.length();
        if (backwardTop > 0) {
            return false;
        }
        backward = null;
        promote();
        return true;
    }

    private void promote() {
        if (backward == null && forward != null && forwardDone == forward.length()) {
            backward = forward;
            backwardTop = layers;
            backwardRowsLeft = backward.length();
            forward = null;
        }
    }

    /** Forgets both samples (a stopped job). */
    public void clear() {
        forward = null;
        backward = null;
    }

    /** Charges the lane for {@code ms} of iteration time; lanes are served in order of time used / weight. */
    public void charge(double ms) {
        served += ms / weight;
    }

    /** Time used so far divided by the weight: the lane with the least goes next. */
    public double served() {
        return served;
    }

    public int layers() {
        return layers;
    }
}
