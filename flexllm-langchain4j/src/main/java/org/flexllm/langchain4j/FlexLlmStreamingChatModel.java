package org.flexllm.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.TokenEvent;

/**
 * A LangChain4j {@link StreamingChatModel} over an in-process FlexLLM engine. The handler is called on a virtual
 * thread of the request's own, never on the engine's thread, so a slow handler delays only its own reply: each
 * piece of text as it is generated, then the complete response with token usage and finish reason.
 */
public final class FlexLlmStreamingChatModel implements StreamingChatModel {
    /** Put on a request's queue when it fails before its last token, so that the delivering thread stops waiting. */
    private static final TokenEvent FAILED = new TokenEvent(-1, -1, "", null, true);

    private final FlexLlmChat chat;

    private FlexLlmStreamingChatModel(FlexLlmChat chat) {
        this.chat = chat;
    }

    /** A builder; {@code engine} is the one required setting. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        LinkedBlockingQueue<TokenEvent> tokens = new LinkedBlockingQueue<>();
        CompletableFuture<GenerationResult> result;
        try {
            result = chat.engine().submit(chat.request(request).withListener(tokens::add));
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        result.whenComplete((r, error) -> {
            if (error != null) {
                tokens.add(FAILED);
            }
        });
        Thread.ofVirtual().name("flexllm-langchain4j-stream").start(() -> deliver(tokens, result, handler));
    }

    /** Hands the tokens to the handler as they come, then the response or the error. */
    private void deliver(LinkedBlockingQueue<TokenEvent> tokens, CompletableFuture<GenerationResult> result,
                         StreamingChatResponseHandler handler) {
        try {
            for (TokenEvent e = tokens.take(); ; e = tokens.take()) {
                if (!e.text().isEmpty()) {
                    handler.onPartialResponse(e.text());
                }
                if (e.last()) {
                    break;
                }
            }
            handler.onCompleteResponse(chat.response(result.join()));
        } catch (InterruptedException e) {
            result.cancel(true);
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            handler.onError(e.getCause() != null && e instanceof java.util.concurrent.CompletionException
                    ? e.getCause() : e);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return chat.defaults();
    }

    /** Builds a {@link FlexLlmStreamingChatModel}. */
    public static final class Builder extends FlexLlmChatModelBuilder<Builder> {
        private Builder() {}

        public FlexLlmStreamingChatModel build() {
            return new FlexLlmStreamingChatModel(chat());
        }
    }
}
