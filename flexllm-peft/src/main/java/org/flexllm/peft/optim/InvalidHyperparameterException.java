package org.flexllm.peft.optim;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** An optimizer, schedule or clipping setting out of range; the message names it, its value and the range. */
public class InvalidHyperparameterException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidHyperparameterException(String name, double value, String range) {
        super(name + " = " + value + ": must be " + range);
    }
}
