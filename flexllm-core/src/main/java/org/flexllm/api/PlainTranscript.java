package org.flexllm.api;

import java.util.List;
import org.flexllm.tokenizer.ChatMessage;

/**
 * The chat prompt of a model whose tokenizer has no chat template (a base model such as stories260K): one
 * {@code role: content} line per message and an open {@code assistant:} line. Without it a chat request to such a
 * model could only fail, while servers and chat frameworks send chat requests to whatever model they are given.
 */
final class PlainTranscript {
    private PlainTranscript() {}

    static String render(List<ChatMessage> messages) {
        StringBuilder text = new StringBuilder();
        for (ChatMessage m : messages) {
            text.append(m.role()).append(": ").append(m.content()).append('\n');
        }
        return text.append("assistant:").toString();
    }
}
