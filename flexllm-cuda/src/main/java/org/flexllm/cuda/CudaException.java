package org.flexllm.cuda;

import org.flexllm.FlexLlmException;

/** A CUDA library call failed, or a CUDA library could not be found or bound; the message names which. */
public final class CudaException extends FlexLlmException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
