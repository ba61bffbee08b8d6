package org.flexllm.peft.data;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/** A dataset line that cannot become a training example; the message names the file, the line and the problem. */
public class DatasetFormatException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * @param line 1-based
     */
    public DatasetFormatException(Path file, long line, String problem) {
        super(file + ":" + line + ": " + problem);
    }

    public DatasetFormatException(Path file, long line, String problem, Throwable cause) {
        super(file + ":" + line + ": " + problem, cause);
    }
}
