package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * A file that is not a well-formed GGUF file, or holds something this library does not run; the message names
 * the file and the offending key, tensor or field. Subclasses name the kind of problem.
 */
public class InvalidGgufException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidGgufException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
