package org.flexllm.peft.optim;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/**
 * Optimizer state that does not belong to this optimizer's parameters (a checkpoint of another adapter, method
 * or optimizer): the message names the state tensor and what was expected.
 */
public class OptimizerStateException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public OptimizerStateException(String problem) {
        super(problem);
    }
}
