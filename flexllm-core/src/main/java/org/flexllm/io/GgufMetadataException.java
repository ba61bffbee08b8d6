package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A GGUF metadata key that is missing or unusable; the message names the key. */
public class GgufMetadataException extends InvalidGgufException {
    @Serial
    private static final long serialVersionUID = 1L;

    public GgufMetadataException(Path file, String problem) {
        super(file, problem);
    }
}
