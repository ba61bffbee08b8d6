package org.flexllm.tokenizer;

import org.flexllm.FlexLlmException;

/**
 * A chat template that is missing, fails to render, or rejects the conversation through
 * {@code raise_exception}. The message names where the template came from.
 */
public final class ChatTemplateException extends FlexLlmException {
    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }
}
