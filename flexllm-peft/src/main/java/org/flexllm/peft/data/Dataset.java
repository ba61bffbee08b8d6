package org.flexllm.peft.data;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The examples of a dataset file, in file order.
 *
 * @param examples  one per non-blank line
 * @param truncated how many were cut to the sequence-length limit
 */
public record Dataset(List<TrainingExample> examples, int truncated) {
    public Dataset {
        examples = List.copyOf(examples);
    }

    /** Two disjoint parts of a dataset, each in file order. */
    public record Split(List<TrainingExample> train, List<TrainingExample> eval) {
        public Split {
            train = List.copyOf(train);
            eval = List.copyOf(eval);
        }
    }

    /** Tokens that count in the loss, over all examples. */
    public long targets() {
        return examples.stream().mapToLong(TrainingExample::targets).sum();
    }

    /**
     * Holds out {@code round(fraction · size)} examples (at least one), chosen at random by {@code seed}, for
     * evaluation.
     *
     * @throws IllegalArgumentException when {@code fraction} is not in (0, 1)
     * @throws EmptyDatasetException    when holding out would leave no example to train on
     */
    public Split split(double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("eval fraction = " + fraction + " must be in (0, 1)");
        }
        int size = examples.size();
        int held = (int) Math.max(1, Math.round(fraction * size));
        if (held >= size) {
            throw new EmptyDatasetException("holding out " + held + " of " + size + " examples for evaluation"
                    + " leaves none to train on; use a smaller fraction or a separate eval file");
        }
        int[] order = DataOrder.permutation(size, DataOrder.generator(seed, DataOrder.SPLIT_STREAM));
        boolean[] isEval = new boolean[size];
        Arrays.stream(order, 0, held).forEach(i -> isEval[i] = true);
        return new Split(
                IntStream.range(0, size).filter(i -> !isEval[i]).mapToObj(examples::get).toList(),
                IntStream.range(0, size).filter(i -> isEval[i]).mapToObj(examples::get).toList());
    }
}
