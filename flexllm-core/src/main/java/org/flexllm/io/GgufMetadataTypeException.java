package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A GGUF metadata value of another type than the key needs; the message names the key and both types. */
public class GgufMetadataTypeException extends GgufMetadataException {
    @Serial
    private static final long serialVersionUID = 1L;

    public GgufMetadataTypeException(Path file, String problem) {
        super(file, problem);
    }
}
