package org.flexllm.io;

import java.io.Serial;
import java.nio.file.Path;

/** A GGUF tensor whose ggml type is unknown or not one this library computes with; the message names the tensor. */
public class UnknownGgufTensorTypeException extends InvalidGgufException {
    @Serial
    private static final long serialVersionUID = 1L;

    public UnknownGgufTensorTypeException(Path file, String problem) {
        super(file, problem);
    }
}
