package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A GGUF tensor whose data offset is not a multiple of the file's alignment ({@code general.alignment}). */
public class MisalignedGgufTensorException extends InvalidGgufException {
    @Serial
    private static final long serialVersionUID = 1L;

    public MisalignedGgufTensorException(Path file, String problem) {
        super(file, problem);
    }
}
