package org.flexllm;

/**
 * The root of the library's exceptions. Each subclass names one kind of problem; the message names the
 * file, tensor, field or limit involved and, where there is one, what to do about it.
 */
public class FlexLlmException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FlexLlmException(String message) {
        super(message);
    }

    public FlexLlmException(String message, Throwable cause) {
        super(message, cause);
    }
}
