package org.flexllm.peft;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * An adapter configuration that is wrong in itself: a field missing, of the wrong type or out of range, or a
 * target module that is not a Linear of a decoder layer. The message names the field and its value.
 */
public class InvalidAdapterConfigException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidAdapterConfigException(String problem) {
        super(problem);
    }

    public InvalidAdapterConfigException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public InvalidAdapterConfigException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
