package org.flexllm.api;

import java.util.Arrays;
import java.util.List;
import org.flexllm.tokenizer.ChatMessage;

/** What a request asks the model to continue: text, token ids, or a chat rendered by the chat template. */
public sealed interface Prompt {
    /** Text, encoded as the tokenizer does by default (BOS where it adds one). */
    record Text(String text) implements Prompt {}

    /** Token ids, used exactly as given. */
    record Ids(List<Integer> ids) implements Prompt {
        public Ids {
            ids = List.copyOf(ids);
        }
    }

    /** Chat messages, rendered with the tokenizer's chat template and a generation prompt. */
    record Chat(List<ChatMessage> messages) implements Prompt {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    static Prompt text(String text) {
        return new Text(text);
    }

    static Prompt ids(int... ids) {
        return new Ids(Arrays.stream(ids).boxed().toList());
    }

    static Prompt chat(List<ChatMessage> messages) {
        return new Chat(messages);
    }
}
