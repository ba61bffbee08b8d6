package org.flexllm.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.langchain4j.service.TokenStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexllm.Shared;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chat models through LangChain4j's own {@code AiServices}, on a real model (stories260K): greedy replies equal
 * the engine's {@code chat}, with token usage and finish reasons; streaming hands over the same text.
 */
class AiServicesTest {
    private static final String START = "Once upon a time";
    private static final int MAX_TOKENS = 24;

    static LlmEngine engine;

    /** What applications declare: LangChain4j implements it over the model. */
    interface Storyteller {
        String tell(String start);
    }

    interface CountingStoryteller {
        Result<String> tell(String start);
    }

    interface StreamingStoryteller {
        TokenStream tell(String start);
    }

    @BeforeAll
    static void load() {
        engine = LlmEngine.builder().model(Shared.resolve("models/stories260K")).build();
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static GenerationResult direct() {
        return engine.chat(List.of(ChatMessage.user(START)),
                SamplingParams.builder().temperature(0).maxTokens(MAX_TOKENS).build());
    }

    private static FlexLlmChatModel greedy() {
        return FlexLlmChatModel.builder().engine(engine).temperature(0.0).maxOutputTokens(MAX_TOKENS).build();
    }

    @Test
    void anAiServiceAnswersAsTheEngineDoes() {
        Storyteller teller = AiServices.create(Storyteller.class, greedy());
        String story = teller.tell(START);
        assertFalse(story.isBlank());
        assertEquals(direct().text(), story);
    }

    @Test
    void tokenUsageAndTheFinishReasonAreReported() {
        Result<String> r = AiServices.create(CountingStoryteller.class, greedy()).tell(START);
        GenerationResult expected = direct();
        assertEquals(expected.promptIds().size(), r.tokenUsage().inputTokenCount());
        assertEquals(expected.ids().size(), r.tokenUsage().outputTokenCount());
        assertEquals(expected.finishReason() == org.flexllm.api.FinishReason.LENGTH ? FinishReason.LENGTH
                : FinishReason.STOP, r.finishReason());
    }

    @Test
    void aStreamingAiServiceHandsOverTheSameText() throws Exception {
        FlexLlmStreamingChatModel model = FlexLlmStreamingChatModel.builder().engine(engine).temperature(0.0)
                .maxOutputTokens(MAX_TOKENS).build();
        StreamingStoryteller teller = AiServices.builder(StreamingStoryteller.class).streamingChatModel(model).build();
        StringBuilder pieces = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        teller.tell(START).onPartialResponse(pieces::append).onCompleteResponse(done::complete)
                .onError(done::completeExceptionally).start();
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        GenerationResult expected = direct();
        assertEquals(expected.text(), pieces.toString());
        assertEquals(expected.text(), response.aiMessage().text());
        assertEquals(expected.ids().size(), response.tokenUsage().outputTokenCount());
    }

    @Test
    void requestParametersOverrideTheBuildersDefaults() {
        ChatResponse r = greedy().chat(ChatRequest.builder().messages(UserMessage.from(START)).maxOutputTokens(3)
                .build());
        assertEquals(3, r.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());
    }

    @Test
    void penaltiesAreTheEnginesOwn() {
        ChatResponse r = greedy().chat(ChatRequest.builder().messages(UserMessage.from(START)).frequencyPenalty(1.0)
                .presencePenalty(0.5).build());
        GenerationResult expected = engine.chat(List.of(ChatMessage.user(START)), SamplingParams.builder()
                .temperature(0).maxTokens(MAX_TOKENS).frequencyPenalty(1.0).presencePenalty(0.5).build());
        assertEquals(expected.text(), r.aiMessage().text());
        assertNotEquals(direct().text(), r.aiMessage().text(), "the penalties change what greedy decoding says");
        FlexLlmChatModel byDefault = FlexLlmChatModel.builder().engine(engine).temperature(0.0)
                .maxOutputTokens(MAX_TOKENS).frequencyPenalty(1.0).presencePenalty(0.5).build();
        assertEquals(expected.text(), AiServices.create(Storyteller.class, byDefault).tell(START));
    }

    @Test
    void toolsAreRefusedClearly() {
        var e = assertThrows(UnsupportedFeatureException.class, () -> greedy().chat(ChatRequest.builder()
                .messages(UserMessage.from(START)).toolSpecifications(ToolSpecification.builder().name("clock")
                        .build()).build()));
        assertTrue(e.getMessage().contains("tools"), e.getMessage());
    }
}
