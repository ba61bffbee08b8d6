package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A GGUF file that ends before what its header describes: a count, string, array or tensor runs past the end. */
public class TruncatedGgufException extends InvalidGgufException {
    @Serial
    private static final long serialVersionUID = 1L;

    public TruncatedGgufException(Path file, String problem) {
        super(file, problem);
    }
}
