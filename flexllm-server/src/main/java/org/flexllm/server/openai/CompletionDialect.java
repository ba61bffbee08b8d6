package org.flexllm.server.openai;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.api.GenerationResult;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.TokenLogprob;

/** {@code /v1/completions}: choices of {@code text}, legacy log-probabilities (tokens, token_logprobs, ...). */
final class CompletionDialect extends Dialect {
    /** @param logprobs whether the request asked for log-probabilities */
    CompletionDialect(TokenText tokens, boolean logprobs) {
        super(tokens, logprobs, "cmpl-", "text_completion", "text_completion");
    }

    /**
     * @param logprobs     null unless asked for
     * @param finishReason null until the choice's last chunk
     */
    record Choice(int index, String text, Logprobs logprobs, String finishReason) {}

    /** OpenAI's legacy log-probabilities: parallel lists over the choice's tokens. */
    record Logprobs(List<String> tokens, List<Float> tokenLogprobs, List<Map<String, Float>> topLogprobs,
                    List<Integer> textOffset) {}

    @Override
    Object choice(int index, GenerationResult r) {
        return new Choice(index, r.text(), logprobs(r.logprobs(), logprobs),
                r.finishReason().label());
    }

    @Override
    Object opening(int index) {
        return null;
    }

    @Override
    Object delta(int index, String text, List<SampledToken> sampled) {
        return new Choice(index, text, logprobs(sampled, logprobs), null);
    }

    @Override
    Object finish(int index, GenerationResult r) {
        return new Choice(index, "", null, r.finishReason().label());
    }

    private Logprobs logprobs(List<SampledToken> sampled, boolean asked) {
        if (!asked) {
            return null;
        }
        List<String> texts = new ArrayList<>();
        List<Float> lps = new ArrayList<>();
        List<Map<String, Float>> tops = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        int offset = 0;
        for (SampledToken t : sampled) {
            String text = tokens.of(t.id());
            texts.add(text);
            lps.add(t.logprob());
            Map<String, Float> top = new LinkedHashMap<>();
            for (TokenLogprob alt : t.topLogprobs()) {
                top.putIfAbsent(tokens.of(alt.id()), alt.logprob());
            }
            tops.add(top);
            offsets.add(offset);
            offset += text.length();
        }
        return new Logprobs(texts, lps, tops, offsets);
    }
}
