package org.flexllm.peft.format;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * An adapter whose tensors do not fit the model (or its own config): a tensor missing, unexpected or of the wrong
 * shape. The message names the file, the tensor, its shape, the expected shape and the model dimension behind it.
 */
public class AdapterMismatchException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public AdapterMismatchException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
