package org.flexllm.spec;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/**
 * A speculative-decoding setting that cannot be used: a draft spec, a policy name or a tree shape. The message
 * names the value, what was wrong with it and what is accepted.
 */
public final class InvalidSpeculationException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidSpeculationException(String message) {
        super(message);
    }
}
