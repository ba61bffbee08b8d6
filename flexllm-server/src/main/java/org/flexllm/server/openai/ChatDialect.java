package org.flexllm.server.openai;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.api.GenerationResult;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.TokenLogprob;

/** {@code /v1/chat/completions}: choices of an assistant {@code message}, chunks of a {@code delta}. */
final class ChatDialect extends Dialect {
    private static final String ASSISTANT = "assistant";

    /** @param logprobs whether the request asked for log-probabilities */
    ChatDialect(TokenText tokens, boolean logprobs) {
        super(tokens, logprobs, "chatcmpl-", "chat.completion", "chat.completion.chunk");
    }

    /** A whole answer's choice. */
    record Choice(int index, Message message, Logprobs logprobs, String finishReason) {}

    /** A chunk's choice. */
    record ChunkChoice(int index, Message delta, Logprobs logprobs, String finishReason) {}

    /** A message, or a chunk's part of one ({@code role} only on the first chunk). */
    record Message(String role, String content) {}

    /** OpenAI's chat log-probabilities: one entry per token. */
    record Logprobs(List<TokenEntry> content) {}

    /** A token with its log-probability, bytes and alternatives. */
    record TokenEntry(String token, float logprob, List<Integer> bytes, List<Alternative> topLogprobs) {}

    /** An alternative token. */
    record Alternative(String token, float logprob, List<Integer> bytes) {}

    @Override
    Object choice(int index, GenerationResult r) {
        return new Choice(index, new Message(ASSISTANT, r.text()), logprobs(r.logprobs()), r.finishReason().label());
    }

    @Override
    Object opening(int index) {
        return new ChunkChoice(index, new Message(ASSISTANT, ""), null, null);
    }

    @Override
    Object delta(int index, String text, List<SampledToken> sampled) {
        return new ChunkChoice(index, new Message(null, text), logprobs(sampled), null);
    }

    @Override
    Object finish(int index, GenerationResult r) {
        return new ChunkChoice(index, new Message(null, null), null, r.finishReason().label());
    }

    private Logprobs logprobs(List<SampledToken> sampled) {
        if (!logprobs) {
            return null;
        }
        List<TokenEntry> entries = new ArrayList<>();
        for (SampledToken t : sampled) {
            List<Alternative> alternatives = new ArrayList<>();
            for (TokenLogprob alt : t.topLogprobs()) {
                alternatives.add(new Alternative(tokens.of(alt.id()), alt.logprob(), tokens.bytes(alt.id())));
            }
            entries.add(new TokenEntry(tokens.of(t.id()), t.logprob(), tokens.bytes(t.id()), alternatives));
        }
        return new Logprobs(entries);
    }
}
