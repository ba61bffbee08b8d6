package org.flexllm.examples.bench;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/** A line of a request trace that cannot be replayed; the message names the file, the line and the field. */
public final class TraceFormatException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * @param line 1-based
     */
    public TraceFormatException(Path file, long line, String problem) {
        super(file + ":" + line + ": " + problem);
    }
}
