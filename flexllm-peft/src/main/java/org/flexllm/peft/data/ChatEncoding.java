package org.flexllm.peft.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexllm.tokenizer.ChatMessage;
import org.flexllm.tokenizer.Tokenizer;

/**
 * A conversation as one training sequence: the whole conversation rendered by the chat template, with only the
 * assistant turns trained. Each turn is trained from the end of its generation prompt (the conversation before
 * it rendered with {@code add_generation_prompt}, which must be a prefix of the whole) through its content and
 * the first special token after the content (its end-of-turn marker: {@code <|eot_id|>}, {@code <|im_end|>},
 * {@code </s>}), which is what the model must learn to generate. The content's end is where the whole
 * conversation and the conversation with this turn's content emptied start to agree again: templates differ in
 * what follows a turn (Qwen3 re-renders the last turn with a think block; some append the assistant header even
 * when not asked), so rendering up to the turn alone cannot tell where it ends.
 */
final class ChatEncoding {
    private static final String ASSISTANT = "assistant";

    private final Tokenizer tokenizer;

    ChatEncoding(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    TrainingExample encode(List<ChatMessage> messages, JsonLine line) {
        int[] ids = render(messages, false);
        int[] labels = new int[ids.length];
        Arrays.fill(labels, TrainingExample.IGNORE);
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).role().equals(ASSISTANT)) {
                int start = promptEnd(messages, i, ids, line);
                int end = turnEnd(ids, contentEnd(ids, render(emptied(messages, i), false), start));
                System.arraycopy(ids, start, labels, start, end - start);
            }
        }
        return new TrainingExample(ids, labels);
    }

    private int[] render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(tokenizer.applyChatTemplate(messages, addGenerationPrompt), false);
    }

    /** Where assistant turn {@code i} starts: after the generation prompt that precedes it. */
    private int promptEnd(List<ChatMessage> messages, int i, int[] ids, JsonLine line) {
        int[] prompt = render(messages.subList(0, i), true);
        if (commonPrefix(prompt, ids) != prompt.length) {
            throw line.error("the chat template renders the conversation before message " + (i + 1)
                    + " (an assistant turn) differently from the whole conversation, so the turn's start is"
                    + " unknown; use the prompt/completion format instead");
        }
        return prompt.length;
    }

    /**
     * Where the content of the emptied turn ends in {@code ids}: the whole conversation and the emptied one share
     * a prefix (before the content) and a suffix (after it). The suffix may not reach into the shared prefix.
     */
    private static int contentEnd(int[] ids, int[] emptied, int start) {
        int prefix = commonPrefix(ids, emptied);
        if (prefix == ids.length) {
            return start;
        }
        int limit = Math.min(ids.length, emptied.length) - prefix;
        int suffix = 0;
        while (suffix < limit && ids[ids.length - 1 - suffix] == emptied[emptied.length - 1 - suffix]) {
            suffix++;
        }
        return Math.max(start, ids.length - suffix);
    }

    /** One past the first special token at or after {@code from}, or the end of the sequence. */
    private int turnEnd(int[] ids, int from) {
        for (int t = from; t < ids.length; t++) {
            if (tokenizer.isSpecial(ids[t])) {
                return t + 1;
            }
        }
        return ids.length;
    }

    private static List<ChatMessage> emptied(List<ChatMessage> messages, int i) {
        List<ChatMessage> copy = new ArrayList<>(messages);
        copy.set(i, new ChatMessage(messages.get(i).role(), ""));
        return copy;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
