package org.flexllm.peft.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexllm.peft.Golden;
import org.flexllm.tokenizer.ChatMessage;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversations through the chat templates of {@code shared/tokenizers}: only the assistant turns are trained,
 * each through its end-of-turn token. The expected spans follow from reading each template's source.
 */
class ChatDatasetTest {
    private static final String CONVERSATION = """
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, \
            {"role": "assistant", "content": "Hello there!"}, {"role": "user", "content": "Bye"}, \
            {"role": "assistant", "content": "Goodbye."}]}""";
    private static Tokenizer llama3;
    private static Tokenizer qwen3;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadTokenizers() {
        llama3 = Golden.tokenizer("llama3");
        qwen3 = Golden.tokenizer("qwen3");
    }

    @Test
    void llama3TrainsEachAssistantContentAndItsEndOfTurnButNotTheTrailingHeader() throws IOException {
        TrainingExample example = readOne(llama3, CONVERSATION);
        assertArrayEquals(llama3.encode(llama3.applyChatTemplate(messages(), false), false), example.inputIds(),
                "the whole conversation as the template renders it");
        assertEquals(List.of("Hello there!<|eot_id|>", "Goodbye.<|eot_id|>"), trainedSpans(llama3, example));
    }

    @Test
    void qwen3TrainsTheThinkBlockOfTheLastTurnAndEachEndOfTurn() throws IOException {
        TrainingExample example = readOne(qwen3, CONVERSATION);
        assertArrayEquals(qwen3.encode(qwen3.applyChatTemplate(messages(), false), false), example.inputIds());
        assertEquals(List.of("Hello there!<|im_end|>", "<think>\n\n</think>\n\nGoodbye.<|im_end|>"),
                trainedSpans(qwen3, example));
    }

    @Test
    void aConversationWithoutAnAssistantTurnIsRefused() throws IOException {
        var e = assertThrows(DatasetFormatException.class,
                () -> readOne(llama3, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"));
        assertTrue(e.getMessage().contains(":1: the conversation has no assistant message"), e.getMessage());
    }

    @Test
    void aMessageWithoutContentNamesTheLine() throws IOException {
        String line = "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}";
        var e = assertThrows(DatasetFormatException.class, () -> readOne(llama3, line));
        assertTrue(e.getMessage().contains(":1: missing field 'messages[0].content'"), e.getMessage());
    }

    @Test
    void aTokenizerWithoutChatTemplateCannotReadConversations() throws IOException {
        var e = assertThrows(DatasetFormatException.class, () -> readOne(Golden.tokenizer("mistral"), CONVERSATION));
        assertTrue(e.getMessage().contains("no chat template"), e.getMessage());
    }

    private TrainingExample readOne(Tokenizer tokenizer, String line) throws IOException {
        Path file = dir.resolve("chat.jsonl");
        Files.writeString(file, line + "\n");
        Dataset dataset = DatasetReader.of(tokenizer, tokenizer.vocabSize(), 4096).read(file);
        assertEquals(1, dataset.examples().size());
        return dataset.examples().getFirst();
    }

    private static List<ChatMessage> messages() {
        return List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello there!"),
                ChatMessage.user("Bye"), ChatMessage.assistant("Goodbye."));
    }

    /** The text of each run of trained labels. */
    private static List<String> trainedSpans(Tokenizer tokenizer, TrainingExample example) {
        int[] ids = example.inputIds();
        int[] labels = example.labels();
        List<String> spans = new ArrayList<>();
        for (int t = 0; t < ids.length; t++) {
            if (labels[t] != TrainingExample.IGNORE && (t == 0 || labels[t - 1] == TrainingExample.IGNORE)) {
                int end = t;
                while (end < ids.length && labels[end] != TrainingExample.IGNORE) {
                    assertEquals(ids[end], labels[end], "a trained label is the token at its position");
                    end++;
                }
                spans.add(tokenizer.decode(Arrays.copyOfRange(ids, t, end), false));
            }
        }
        return spans;
    }
}
