package org.flexllm.parallel;

import org.flexllm.FlexLlmException;

/** A model, adapter or weight that cannot be split over the requested ranks; the message says which shape and why. */
public final class TensorParallelException extends FlexLlmException {
    private static final long serialVersionUID = 1L;

    public TensorParallelException(String message) {
        super(message);
    }
}
