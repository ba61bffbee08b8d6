package org.flexllm.model;

import java.io.Serial;

/** A tokenizer vocabulary whose size differs from the number of embedding rows of the model it ships with. */
public class VocabularyMismatchException extends InvalidCheckpointException {
    @Serial
    private static final long serialVersionUID = 1L;

    public VocabularyMismatchException(String message) {
        super(message);
    }
}
