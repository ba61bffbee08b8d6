package org.flexllm.peft.data;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** A dataset (or a split of one) with nothing to train on: no examples, or no label that counts in the loss. */
public class EmptyDatasetException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public EmptyDatasetException(String problem) {
        super(problem);
    }
}
