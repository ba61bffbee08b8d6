package org.flexllm.peft.data;

import java.util.Arrays;

/**
 * One training sequence in Hugging Face's causal-LM convention: {@code labels[t]} is the token expected at
 * position t, or {@link #IGNORE} where nothing is trained; labels are not shifted, so the logits at position t
 * are scored against {@code labels[t + 1]}. Immutable: the arrays are copied in and out.
 *
 * @param inputIds the tokens the model reads
 * @param labels   the same length; each entry is the token at that position or {@link #IGNORE}
 */
public record TrainingExample(int[] inputIds, int[] labels) {
    /** PyTorch's {@code ignore_index}: a label that is not trained. */
    public static final int IGNORE = -100;

    /**
     * @throws IllegalArgumentException when the arrays differ in length
     */
    public TrainingExample {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException("input_ids has " + inputIds.length + " tokens but labels has "
                    + labels.length);
        }
        inputIds = inputIds.clone();
        labels = labels.clone();
    }

    /** An example in which every token after the first is trained. */
    public static TrainingExample allTrained(int[] inputIds) {
        return new TrainingExample(inputIds, inputIds);
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }

    /** Tokens in the sequence. */
    public int length() {
        return inputIds.length;
    }

    /** Predicted positions that count in the loss: labels after the first that are not {@link #IGNORE}. */
    public int targets() {
        int count = 0;
        for (int t = 1; t < labels.length; t++) {
            if (labels[t] != IGNORE) {
                count++;
            }
        }
        return count;
    }

    /** The first {@code maxLength} tokens, or this example when it is no longer. */
    public TrainingExample truncated(int maxLength) {
        return length() <= maxLength ? this
                : new TrainingExample(Arrays.copyOf(inputIds, maxLength), Arrays.copyOf(labels, maxLength));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingExample e && Arrays.equals(inputIds, e.inputIds)
                && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "TrainingExample[inputIds=" + Arrays.toString(inputIds) + ", labels=" + Arrays.toString(labels) + "]";
    }
}
