package org.flexllm.model;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** A model folder whose files do not form a checkpoint matching its {@code config.json}. */
public class InvalidCheckpointException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidCheckpointException(String message) {
        super(message);
    }

    public InvalidCheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
