package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.nio.file.Path;
import java.util.List;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Prompt;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OpenAI Java SDK against a server on stories260K: completions, chat and streaming, each greedy answer
 * the same as the engine's own {@code generate}.
 */
class OpenAiSdkTest {
    private static final String KEY = "sk-test";
    private static final String PROMPT = "Once upon a time";

    @TempDir
    static Path state;
    static FlexLlmServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = Servers.start(Servers.STORIES, state, b -> b.apiKey(KEY));
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey(KEY)
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static GenerationResult direct(Prompt prompt, int maxTokens) {
        return server.engine().generate(new org.flexllm.api.GenerationRequest(prompt,
                SamplingParams.builder().temperature(0).maxTokens(maxTokens).build(), null));
    }

    @Test
    void aGreedyCompletionIsTheEnginesOwn() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(server.modelName())
                .prompt(PROMPT).maxTokens(24).temperature(0).build());
        GenerationResult expected = direct(Prompt.text(PROMPT), 24);
        assertEquals(expected.text(), c.choices().getFirst().text());
        assertEquals(expected.finishReason().label(), c.choices().getFirst().finishReason().asString());
        long completionTokens = c.usage().orElseThrow().completionTokens();
        assertEquals(expected.ids().size(), completionTokens);
        assertEquals(expected.promptIds().size(), c.usage().orElseThrow().promptTokens());
        assertFalse(c.choices().getFirst().text().isEmpty());
    }

    @Test
    void penaltiesReachTheSamplerAsTheEnginesOwn() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(server.modelName())
                .prompt(PROMPT).maxTokens(32).temperature(0).presencePenalty(0.5).frequencyPenalty(1.0)
                .putAdditionalBodyProperty("repetition_penalty", JsonValue.from(1.3)).build());
        SamplingParams penalised = SamplingParams.builder().temperature(0).maxTokens(32).presencePenalty(0.5)
                .frequencyPenalty(1.0).repetitionPenalty(1.3).build();
        GenerationResult expected = server.engine().generate(new org.flexllm.api.GenerationRequest(
                Prompt.text(PROMPT), penalised, null));
        assertEquals(expected.text(), c.choices().getFirst().text());
        assertNotEquals(direct(Prompt.text(PROMPT), 32).text(), expected.text(),
                "the penalties change what greedy decoding says");
    }

    @Test
    void aGreedyChatIsTheEnginesOwn() {
        ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(server.modelName()).addUserMessage("Tell me a story").maxCompletionTokens(20).temperature(0)
                .build());
        GenerationResult expected = direct(Prompt.chat(List.of(ChatMessage.user("Tell me a story"))), 20);
        assertEquals(expected.text(), chat.choices().getFirst().message().content().orElseThrow());
        assertEquals(expected.finishReason().label(), chat.choices().getFirst().finishReason().asString());
        assertEquals(expected.ids().size(), chat.usage().orElseThrow().completionTokens());
    }

    @Test
    void aStreamedChatConcatenatesToTheSameAnswerAndEndsWithUsage() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(server.modelName())
                .addUserMessage("Tell me a story").maxCompletionTokens(20).temperature(0)
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                        .includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        String[] finish = new String[1];
        long[] usage = new long[1];
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice c : chunk.choices()) {
                    c.delta().content().ifPresent(text::append);
                    c.finishReason().ifPresent(f -> finish[0] = f.asString());
                }
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        GenerationResult expected = direct(Prompt.chat(List.of(ChatMessage.user("Tell me a story"))), 20);
        assertEquals(expected.text(), text.toString());
        assertEquals(expected.finishReason().label(), finish[0]);
        assertEquals(expected.ids().size(), usage[0]);
    }

    @Test
    void aStreamedCompletionConcatenatesToTheSameAnswer() {
        CompletionCreateParams params = CompletionCreateParams.builder().model(server.modelName()).prompt(PROMPT)
                .maxTokens(24).temperature(0).build();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> text.append(c.text())));
        }
        assertEquals(direct(Prompt.text(PROMPT), 24).text(), text.toString());
    }

    @Test
    void nSeededChoicesAndLogprobs() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(server.modelName())
                .prompt(PROMPT).maxTokens(8).temperature(1).seed(3).n(3).logprobs(2).build());
        assertEquals(3, c.choices().size());
        for (CompletionChoice choice : c.choices()) {
            var lp = choice.logprobs().orElseThrow();
            assertEquals(lp.tokens().orElseThrow().size(), lp.tokenLogprobs().orElseThrow().size());
            assertTrue(lp.tokenLogprobs().orElseThrow().stream().allMatch(v -> v <= 0));
        }
        Completion again = client.completions().create(CompletionCreateParams.builder().model(server.modelName())
                .prompt(PROMPT).maxTokens(8).temperature(1).seed(3).n(3).logprobs(2).build());
        assertEquals(c.choices().stream().map(CompletionChoice::text).toList(),
                again.choices().stream().map(CompletionChoice::text).toList(), "seeded choices are reproducible");
    }

    @Test
    void chatLogprobsComePerToken() {
        ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(server.modelName()).addUserMessage("Hello").maxCompletionTokens(5).temperature(0)
                .logprobs(true).topLogprobs(2).build());
        var content = chat.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertEquals(chat.usage().orElseThrow().completionTokens(), content.size());
        assertTrue(content.stream().allMatch(t -> t.logprob() <= 0 && t.topLogprobs().size() == 2));
    }

    @Test
    void modelsListTheBaseModel() {
        List<String> ids = client.models().list().data().stream().map(Model::id).toList();
        assertEquals(List.of(server.modelName()), ids);
    }
}
