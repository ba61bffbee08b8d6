package org.flexllm.peft;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * A valid PEFT adapter that uses a feature this library does not implement (another {@code peft_type}, DoRA,
 * trained biases, per-module ranks, ...). The message names the field, its value and what is supported.
 */
public class UnsupportedAdapterException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public UnsupportedAdapterException(String problem) {
        super(problem);
    }

    public UnsupportedAdapterException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
