package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/** A file that is not a well-formed safetensors file; the message names the file and the offending part. */
public class InvalidSafetensorsException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidSafetensorsException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public InvalidSafetensorsException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
