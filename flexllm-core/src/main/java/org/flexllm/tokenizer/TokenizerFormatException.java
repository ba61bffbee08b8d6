package org.flexllm.tokenizer;

import org.flexllm.FlexLlmException;

/**
 * A {@code tokenizer.json} or {@code tokenizer_config.json} that cannot be read, is not JSON, or has a
 * field this library does not understand. The message names the file and the field.
 */
public final class TokenizerFormatException extends FlexLlmException {
    private static final long serialVersionUID = 1L;

    public TokenizerFormatException(String message) {
        super(message);
    }

    public TokenizerFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
