package org.flexllm.backend;

import org.flexllm.FlexLlmException;

/** A backend was asked for by name on a machine that cannot run it; the message says why. */
public class BackendUnavailableException extends FlexLlmException {
    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
