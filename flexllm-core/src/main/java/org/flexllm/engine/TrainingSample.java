package org.flexllm.engine;

/**
 * One finetuning sample as a job hands it to the engine.
 *
 * @param ids         the token ids
 * @param labels      per position, the id it is trained to be, or −100 where it is not trained (HF convention)
 * @param lossWeight  each target's weight in the loss: 1 / targets of the optimizer step, for a mean
 * @param dropoutSeed where the sample's LoRA dropout masks come from
 */
public record TrainingSample(int[] ids, int[] labels, float lossWeight, long dropoutSeed) {
    public TrainingSample {
        if (ids.length == 0 || ids.length != labels.length) {
            throw new IllegalArgumentException("a sample needs as many labels as ids (at least one), had "
                    + ids.length + " ids and " + labels.length + " labels");
        }
    }

    public int length() {
        return ids.length;
    }
}
