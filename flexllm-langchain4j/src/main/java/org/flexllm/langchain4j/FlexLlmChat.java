package org.flexllm.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.sampling.SamplingParams;

/**
 * What both chat models share: the engine, the adapter and SLO they run under, the seed, and the mapping of
 * LangChain4j's requests onto engine requests and of results back onto LangChain4j's responses.
 *
 * @param engine   the in-process engine; the caller keeps it and closes it
 * @param adapter  the adapter requests run on, or null for the base model
 * @param slo      the requests' latency target, or null for the engine's default
 * @param seed     the sampling seed, or null for none
 * @param defaults the parameters a request does not set
 */
record FlexLlmChat(LlmEngine engine, String adapter, Slo slo, Long seed, ChatRequestParameters defaults) {
    /** The name responses report when no adapter is named. */
    static final String BASE = "flexllm";

    FlexLlmChat {
        Objects.requireNonNull(engine, "engine: give the LlmEngine to chat with");
    }

    /**
     * The engine request for a LangChain4j request.
     *
     * @throws UnsupportedFeatureException for tools, JSON response formats and non-text content
     * @throws org.flexllm.sampling.InvalidSamplingParamsException for a parameter out of its range
     */
    GenerationRequest request(ChatRequest chat) {
        ChatRequestParameters p = chat.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by FlexLLM's chat models");
        }
        if (p.responseFormat() != null && !p.responseFormat().equals(ResponseFormat.TEXT)) {
            throw new UnsupportedFeatureException("only text responses are supported, not " + p.responseFormat());
        }
        SamplingParams.Builder s = SamplingParams.builder().maxTokens(p.maxOutputTokens() != null
                ? p.maxOutputTokens() : engine.maxModelLen());
        if (p.temperature() != null) {
            s.temperature(p.temperature());
        }
        if (p.topP() != null) {
            s.topP(p.topP());
        }
        if (p.topK() != null) {
            s.topK(p.topK());
        }
        if (p.frequencyPenalty() != null) {
            s.frequencyPenalty(p.frequencyPenalty());
        }
        if (p.presencePenalty() != null) {
            s.presencePenalty(p.presencePenalty());
        }
        if (p.stopSequences() != null) {
            s.stopStrings(p.stopSequences());
        }
        if (seed != null) {
            s.seed(seed);
        }
        return new GenerationRequest(Prompt.chat(messages(chat.messages())), s.build(), null, adapter, slo);
    }

    /** LangChain4j's response for a finished request. */
    ChatResponse response(GenerationResult r) {
        return ChatResponse.builder().aiMessage(AiMessage.from(r.text()))
                .tokenUsage(new TokenUsage(r.promptIds().size(), r.ids().size()))
                .finishReason(switch (r.finishReason()) {
                    case STOP -> FinishReason.STOP;
                    case LENGTH -> FinishReason.LENGTH;
                })
                .modelName(adapter != null ? adapter : BASE).build();
    }

    private static List<org.flexllm.tokenizer.ChatMessage> messages(List<ChatMessage> messages) {
        List<org.flexllm.tokenizer.ChatMessage> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            out.add(switch (m) {
                case SystemMessage s -> org.flexllm.tokenizer.ChatMessage.system(s.text());
                case UserMessage u when u.hasSingleText() -> org.flexllm.tokenizer.ChatMessage.user(u.singleText());
                case UserMessage u -> throw new UnsupportedFeatureException("user messages must hold text only;"
                        + " this one holds " + u.contents().size() + " parts");
                case AiMessage a when !a.hasToolExecutionRequests() ->
                        org.flexllm.tokenizer.ChatMessage.assistant(a.text() == null ? "" : a.text());
                default -> throw new UnsupportedFeatureException("messages of type " + m.type()
                        + " are not supported by FlexLLM's chat models");
            });
        }
        return out;
    }
}
