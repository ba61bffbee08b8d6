package org.flexllm.server.openai;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.flexllm.api.Slo;
import org.flexllm.sampling.InvalidSamplingParamsException;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.server.ApiError;
import org.flexllm.server.Fields;

/**
 * What a completion or chat request asks of the engine besides its prompt: sampling and stopping (OpenAI's fields
 * with {@code presence_penalty} and {@code frequency_penalty}, and vLLM's extensions {@code top_k}, {@code min_p},
 * {@code repetition_penalty}, {@code stop_token_ids}, {@code ignore_eos}), how many choices, streaming, and its own
 * latency target ({@code "slo": {"ttft_ms", "tpot_ms"}}).
 *
 * @param model        the model or adapter named
 * @param params       the sampling of choice 0; choice i of a seeded request uses seed + i so the choices differ
 * @param slo          the request's latency target, or null for the server's default
 * @param n            choices per prompt
 * @param stream       whether to answer with server-sent events
 * @param includeUsage whether a stream ends with a usage chunk ({@code stream_options.include_usage})
 */
public record Sampling(String model, SamplingParams params, Slo slo, int n, boolean stream, boolean includeUsage) {
    /** The most alternatives a token's log-probabilities list, as OpenAI allows. */
    static final int MAX_TOP_LOGPROBS = 20;
    private static final int MAX_N = 128;

    /**
     * Reads the fields shared by both endpoints.
     *
     * @param maxTokens     the output limit the endpoint reads ({@code max_tokens}, or for chat also
     *                      {@code max_completion_tokens}), or empty
     * @param defaultTokens the limit when the request sets none
     * @param logprobs      the log-probability alternatives asked for, or empty for none
     */
    static Sampling read(Fields f, OptionalInt maxTokens, int defaultTokens, OptionalInt logprobs) {
        String model = f.requiredString("model");
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(maxTokens.orElse(defaultTokens));
        f.number("temperature").ifPresent(b::temperature);
        f.number("top_p").ifPresent(b::topP);
        f.integer("top_k").ifPresent(b::topK);
        f.number("min_p").ifPresent(b::minP);
        f.number("repetition_penalty").ifPresent(b::repetitionPenalty);
        f.number("presence_penalty").ifPresent(b::presencePenalty);
        f.number("frequency_penalty").ifPresent(b::frequencyPenalty);
        f.longInteger("seed").ifPresent(b::seed);
        f.bool("ignore_eos").ifPresent(b::ignoreEos);
        f.bool("skip_special_tokens").ifPresent(b::skipSpecialTokens);
        b.stopStrings(f.strings("stop"));
        b.stopTokenIds(tokenIds(f));
        logprobs.ifPresent(b::logprobs);
        int n = f.integer("n").orElse(1);
        if (n < 1 || n > MAX_N) {
            throw f.invalid("n", "must be between 1 and " + MAX_N + ", was " + n);
        }
        boolean stream = f.bool("stream").orElse(false);
        boolean usage = f.object("stream_options").flatMap(o -> o.bool("include_usage")).orElse(false);
        return new Sampling(model, build(f, b), slo(f), n, stream, usage);
    }

    /** The sampling of choice {@code index}: its own seed when the request is seeded. */
    public SamplingParams forChoice(int index) {
        OptionalLong seed = params.seed();
        return seed.isEmpty() || index == 0 ? params : params.toBuilder().seed(seed.getAsLong() + index).build();
    }

    /** The validated settings; a value out of range is a 400 naming the request's field (snake case). */
    private static SamplingParams build(Fields f, SamplingParams.Builder b) {
        try {
            return b.build();
        } catch (InvalidSamplingParamsException e) {
            String field = e.field().equals("stopStrings") ? "stop"
                    : e.field().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
            throw f.invalid(field, e.getMessage().substring(e.getMessage().indexOf(' ') + 1));
        }
    }

    private static List<Integer> tokenIds(Fields f) {
        List<Integer> ids = new ArrayList<>();
        f.field("stop_token_ids").ifPresent(v -> {
            f.require(v.isArray(), "stop_token_ids", "an array of token ids");
            v.forEach(id -> {
                f.require(id.canConvertToInt() && id.isIntegralNumber(), "stop_token_ids", "an array of token ids");
                ids.add(id.asInt());
            });
        });
        return ids;
    }

    private static Slo slo(Fields f) {
        return f.object("slo").map(s -> {
            double ttft = s.number("ttft_ms").orElseThrow(() -> s.invalid("ttft_ms", "is required in 'slo'"));
            double tpot = s.number("tpot_ms").orElseThrow(() -> s.invalid("tpot_ms", "is required in 'slo'"));
            try {
                return new Slo(ttft, tpot);
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest(e.getMessage(), "slo");
            }
        }).orElse(null);
    }

    /** The log-probability alternatives asked for, checked against OpenAI's limit. */
    static OptionalInt topLogprobs(Fields f, String name, OptionalInt value) {
        if (value.isPresent() && (value.getAsInt() < 0 || value.getAsInt() > MAX_TOP_LOGPROBS)) {
            throw f.invalid(name, "must be between 0 and " + MAX_TOP_LOGPROBS + ", was " + value.getAsInt());
        }
        return value;
    }
}
