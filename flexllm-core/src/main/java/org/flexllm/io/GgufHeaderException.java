package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A file whose magic is not {@code GGUF}, or whose version this reader does not read (it reads 2 and 3). */
public class GgufHeaderException extends InvalidGgufException {
    @Serial
    private static final long serialVersionUID = 1L;

    public GgufHeaderException(Path file, String problem) {
        super(file, problem);
    }
}
