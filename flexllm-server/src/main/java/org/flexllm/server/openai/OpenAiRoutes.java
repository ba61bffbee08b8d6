package org.flexllm.server.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.server.Admission;
import org.flexllm.server.ApiError;
import org.flexllm.server.ApiKey;
import org.flexllm.server.Fields;
import org.flexllm.server.Http;
import org.flexllm.server.Json;
import org.flexllm.server.Models;
import org.flexllm.tokenizer.ChatMessage;

/** {@code POST /v1/completions} and {@code POST /v1/chat/completions}. */
public final class OpenAiRoutes {
    /** OpenAI's default output limit of a completion. */
    private static final int COMPLETION_DEFAULT_TOKENS = 16;

    private final LlmEngine engine;
    private final Generations generations;
    private final TokenText tokens;

    public OpenAiRoutes(LlmEngine engine, Models models, Admission admission) {
        this.engine = engine;
        this.generations = new Generations(engine, models, admission);
        this.tokens = new TokenText(engine.tokenizer());
    }

    /** Adds the routes, each checking {@code key}. */
    public void register(HttpRouting.Builder routing, ApiKey key) {
        routing.post("/v1/completions", Http.handler(key, this::completions));
        routing.post("/v1/chat/completions", Http.handler(key, this::chat));
    }

    private void completions(ServerRequest request, ServerResponse response) throws InterruptedException {
        Call call = completionCall(Http.body(request));
        generations.answer(call.sampling(), call.prompts(), new CompletionDialect(tokens, call.logprobs()), response);
    }

    private void chat(ServerRequest request, ServerResponse response) throws InterruptedException {
        Call call = chatCall(Http.body(request), engine.maxModelLen());
        generations.answer(call.sampling(), call.prompts(), new ChatDialect(tokens, call.logprobs()), response);
    }

    /**
     * A request body read: what to sample, the prompts, and whether tokens' log-probabilities are returned.
     *
     * @param sampling the sampling and output settings
     * @param prompts  the prompts, one choice set each
     * @param logprobs whether the answer carries log-probabilities
     */
    record Call(Sampling sampling, List<Prompt> prompts, boolean logprobs) {}

    /**
     * The body of a {@code /v1/completions} request.
     *
     * @throws ApiError 400 naming the field when the body is not a valid request
     */
    static Call completionCall(byte[] body) {
        Fields f = Fields.of(Json.parseObject(body));
        OptionalInt logprobs = Sampling.topLogprobs(f, "logprobs", f.integer("logprobs"));
        Sampling sampling = Sampling.read(f, f.integer("max_tokens"), COMPLETION_DEFAULT_TOKENS, logprobs);
        return new Call(sampling, prompts(f), logprobs.isPresent());
    }

    /**
     * The body of a {@code /v1/chat/completions} request; without a limit a reply may run to
     * {@code maxModelLen}.
     *
     * @throws ApiError 400 naming the field when the body is not a valid request
     */
    static Call chatCall(byte[] body, int maxModelLen) {
        Fields f = Fields.of(Json.parseObject(body));
        OptionalInt maxTokens = f.integer("max_completion_tokens");
        if (maxTokens.isEmpty()) {
            maxTokens = f.integer("max_tokens");
        }
        boolean logprobs = f.bool("logprobs").orElse(false);
        OptionalInt top = Sampling.topLogprobs(f, "top_logprobs", f.integer("top_logprobs"));
        if (top.isPresent() && !logprobs) {
            throw f.invalid("top_logprobs", "needs 'logprobs': true");
        }
        OptionalInt asked = logprobs ? OptionalInt.of(top.orElse(0)) : OptionalInt.empty();
        // Without a limit a reply may run to the end of the context, as in OpenAI's and vLLM's chat.
        Sampling sampling = Sampling.read(f, maxTokens, maxModelLen, asked);
        return new Call(sampling, List.of(Prompt.chat(messages(f))), logprobs);
    }

    /** A completion's {@code prompt}: a string, token ids, or a list of either. */
    private static List<Prompt> prompts(Fields f) {
        JsonNode p = f.field("prompt").orElseThrow(() -> f.invalid("prompt", "is required"));
        String expected = "a string, an array of strings, an array of token ids, or an array of such arrays";
        if (p.isTextual()) {
            return List.of(Prompt.text(p.asText()));
        }
        f.require(p.isArray() && !p.isEmpty(), "prompt", expected);
        if (p.get(0).isNumber()) {
            return List.of(ids(f, p, expected));
        }
        List<Prompt> prompts = new ArrayList<>();
        for (JsonNode e : p) {
            f.require(e.isTextual() || e.isArray(), "prompt", expected);
            prompts.add(e.isTextual() ? Prompt.text(e.asText()) : ids(f, e, expected));
        }
        return prompts;
    }

    private static Prompt ids(Fields f, JsonNode array, String expected) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            f.require(array.get(i).isIntegralNumber() && array.get(i).canConvertToInt(), "prompt", expected);
            ids[i] = array.get(i).asInt();
        }
        return Prompt.ids(ids);
    }

    /** A chat's {@code messages}: roles with text content, as a string or as text parts. */
    private static List<ChatMessage> messages(Fields f) {
        JsonNode list = f.field("messages").orElseThrow(() -> f.invalid("messages", "is required"));
        f.require(list.isArray() && !list.isEmpty(), "messages", "a non-empty array of messages");
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "messages[" + i + "]";
            f.require(list.get(i).isObject(), at, "an object with 'role' and 'content'");
            Fields m = new Fields(list.get(i), at + ".");
            messages.add(new ChatMessage(m.requiredString("role"), content(m)));
        }
        return messages;
    }

    private static String content(Fields m) {
        JsonNode c = m.field("content").orElse(null);
        if (c == null || c.isTextual()) {
            return c == null ? "" : c.asText();
        }
        m.require(c.isArray(), "content", "a string or an array of text parts");
        StringBuilder text = new StringBuilder();
        for (JsonNode part : c) {
            boolean isText = part.isObject() && "text".equals(part.path("type").asText())
                    && part.path("text").isTextual();
            if (!isText) {
                throw ApiError.badRequest("'" + m.prefix() + "content' may hold only {\"type\": \"text\", \"text\":"
                        + " ...} parts: this server serves text models", m.prefix() + "content");
            }
            text.append(part.get("text").asText());
        }
        return text.toString();
    }
}
