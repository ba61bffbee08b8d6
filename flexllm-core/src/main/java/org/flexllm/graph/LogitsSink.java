package org.flexllm.graph;

/** Receives next-token logits, one batch row at a time, in the order of the batch's {@code logitRows}. */
@FunctionalInterface
public interface LogitsSink {
    /**
     * @param index  position in {@link ForwardBatch#logitRows()}
     * @param logits the row's logits; the array is reused for the next row
     */
    void accept(int index, float[] logits);
}
