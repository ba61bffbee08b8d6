package org.flexllm.model;

import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/** A {@code config.json} or {@code generation_config.json} that cannot be used; the message names the file and field. */
public class InvalidConfigException extends FlexLlmException {
    public InvalidConfigException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public InvalidConfigException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
