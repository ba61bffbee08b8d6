package org.flexllm.graph;

/**
 * A window of a finetuning sequence riding in a forward batch: rows {@code [firstRow, firstRow + count)} of
 * the batch are positions {@code [firstPosition, firstPosition + count)} of the sequence.
 *
 * @param lossWeight each target's weight in the loss (1 / targets of the optimizer step, for a mean)
 */
public record TrainingWindow(TrainingSequence sequence, int firstRow, int firstPosition, int count,
                             float lossWeight) {

    void addLoss(double weightedLoss) {
        sequence.addLoss(weightedLoss);
    }
}
