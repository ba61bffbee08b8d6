package org.flexllm.model;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * A {@code config.json}, {@code generation_config.json} or shard index that cannot be used; the message names
 * the file and the field.
 */
public class InvalidConfigException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidConfigException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public InvalidConfigException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
