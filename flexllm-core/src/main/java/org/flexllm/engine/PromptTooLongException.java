package org.flexllm.engine;

import org.flexllm.FlexLlmException;

/** A prompt that leaves no room for a generated token within the engine's maximum sequence length. */
public final class PromptTooLongException extends FlexLlmException {
    public PromptTooLongException(int promptTokens, int maxModelLen) {
        super("the prompt has " + promptTokens + " tokens but the context limit (maxModelLen) is " + maxModelLen
                + " tokens, prompt and output together; shorten the prompt or raise maxModelLen");
    }
}
