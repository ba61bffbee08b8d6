package org.flexllm.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import java.util.List;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Slo;

/**
 * The settings both chat models take, in LangChain4j's builder style; the subclasses build their model.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class FlexLlmChatModelBuilder<B extends FlexLlmChatModelBuilder<B>> {
    private LlmEngine engine;
    private String adapter;
    private Slo slo;
    private Long seed;
    private Double temperature;
    private Double topP;
    private Integer topK;
    private Integer maxOutputTokens;
    private Double frequencyPenalty;
    private Double presencePenalty;
    private List<String> stopSequences;

    FlexLlmChatModelBuilder() {}

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** The engine to chat with (required); it stays the caller's to close. */
    public B engine(LlmEngine engine) { this.engine = engine; return self(); }
    /** The adapter (LoRA, IA3) registered with the engine to run on; default the base model. */
    public B adapter(String adapter) { this.adapter = adapter; return self(); }
    /** The requests' latency target; default the engine's. */
    public B slo(Slo slo) { this.slo = slo; return self(); }
    /** Makes sampling reproducible. */
    public B seed(Long seed) { this.seed = seed; return self(); }
    /** 0 selects greedy decoding; default 1. */
    public B temperature(Double temperature) { this.temperature = temperature; return self(); }
    /** Nucleus sampling; default 1 (off). */
    public B topP(Double topP) { this.topP = topP; return self(); }
    /** Keep the k most likely tokens; default off. */
    public B topK(Integer topK) { this.topK = topK; return self(); }
    /** The most tokens a reply may have; default up to the end of the context. */
    public B maxOutputTokens(Integer maxOutputTokens) { this.maxOutputTokens = maxOutputTokens; return self(); }
    /** OpenAI's frequency penalty over the reply's tokens, in [-2, 2]; default 0 (off). */
    public B frequencyPenalty(Double frequencyPenalty) { this.frequencyPenalty = frequencyPenalty; return self(); }
    /** OpenAI's presence penalty over the reply's tokens, in [-2, 2]; default 0 (off). */
    public B presencePenalty(Double presencePenalty) { this.presencePenalty = presencePenalty; return self(); }
    /** Replies end before any of these strings. */
    public B stopSequences(List<String> stopSequences) { this.stopSequences = stopSequences; return self(); }

    FlexLlmChat chat() {
        ChatRequestParameters defaults = ChatRequestParameters.builder().modelName(adapter).temperature(temperature)
                .topP(topP).topK(topK).maxOutputTokens(maxOutputTokens).frequencyPenalty(frequencyPenalty)
                .presencePenalty(presencePenalty).stopSequences(stopSequences).build();
        return new FlexLlmChat(engine, adapter, slo, seed, defaults);
    }
}
