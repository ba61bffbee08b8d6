package org.flexllm.api;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** A request names an adapter the engine does not serve. The message names the adapter and what to do. */
public class UnknownAdapterException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public UnknownAdapterException(String message) {
        super(message);
    }
}
