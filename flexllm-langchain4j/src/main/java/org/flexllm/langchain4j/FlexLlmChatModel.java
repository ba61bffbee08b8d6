package org.flexllm.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;

/**
 * A LangChain4j {@link ChatModel} over an in-process FlexLLM engine: no HTTP, the request batched with every other
 * request of the engine. Token usage and finish reasons are reported; tools are not supported.
 * <pre>{@code
 * ChatModel model = FlexLlmChatModel.builder().engine(engine).temperature(0.0).maxOutputTokens(128).build();
 * Assistant assistant = AiServices.create(Assistant.class, model);
 * }</pre>
 */
public final class FlexLlmChatModel implements ChatModel {
    private final FlexLlmChat chat;

    private FlexLlmChatModel(FlexLlmChat chat) {
        this.chat = chat;
    }

    /** A builder; {@code engine} is the one required setting. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return chat.response(chat.engine().generate(chat.request(request)));
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return chat.defaults();
    }

    /** Builds a {@link FlexLlmChatModel}. */
    public static final class Builder extends FlexLlmChatModelBuilder<Builder> {
        private Builder() {}

        public FlexLlmChatModel build() {
            return new FlexLlmChatModel(chat());
        }
    }
}
