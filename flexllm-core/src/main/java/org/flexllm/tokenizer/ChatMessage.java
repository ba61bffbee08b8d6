package org.flexllm.tokenizer;

import static java.util.Objects.requireNonNull;

/**
 * One turn of a conversation as chat templates see it ({@code message.role}, {@code message.content}).
 *
 * @param role    who speaks: usually {@code system}, {@code user} or {@code assistant}
 * @param content what they say
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        requireNonNull(role, "role");
        requireNonNull(content, "content");
    }

    /** A {@code system} turn. */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /** A {@code user} turn. */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /** An {@code assistant} turn. */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
