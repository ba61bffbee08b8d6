package org.flexllm.parallel;

import org.flexllm.FlexLlmException;

/** A collective could not complete: a rank of the group failed or missed the deadline; the cause says which. */
public final class CollectiveFailedException extends FlexLlmException {
    private static final long serialVersionUID = 1L;

    public CollectiveFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
