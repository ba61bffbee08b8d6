package org.flexllm.server.openai;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.server.ApiError;

/**
 * Any bytes as the body of {@code POST /v1/completions} or {@code POST /v1/chat/completions}: the server reads a
 * request from it, or refuses it with an {@link ApiError} (a 400 naming the field). Seeds: {@code RequestFuzzTestInputs}.
 */
class RequestFuzzTest {
    private static final int MAX_MODEL_LEN = 2048;

    @DictionaryEntries({"\"model\"", "\"prompt\"", "\"max_tokens\"", "\"temperature\"", "\"top_p\"", "\"top_k\"",
            "\"min_p\"", "\"seed\"", "\"stop\"", "\"stop_token_ids\"", "\"n\"", "\"stream\"", "\"stream_options\"",
            "\"include_usage\"", "\"logprobs\"", "\"repetition_penalty\"", "\"presence_penalty\"", "\"ignore_eos\"",
            "\"skip_special_tokens\"", "\"slo\"", "\"ttft_ms\"", "\"tpot_ms\"", "null", "true", "1e308", "-1",
            "2147483648", "9223372036854775808"})
    @FuzzTarget
    void completion(byte[] body) {
        FuzzInputs.resultOr(ApiError.class, () -> OpenAiRoutes.completionCall(body));
    }

    @DictionaryEntries({"\"model\"", "\"messages\"", "\"role\"", "\"content\"", "\"type\"", "\"text\"", "\"user\"",
            "\"assistant\"", "\"system\"", "\"max_completion_tokens\"", "\"max_tokens\"", "\"logprobs\"",
            "\"top_logprobs\"", "\"temperature\"", "\"seed\"", "\"stop\"", "\"n\"", "\"stream\"", "\"slo\"", "null",
            "true", "1e308", "-1"})
    @FuzzTarget
    void chat(byte[] body) {
        FuzzInputs.resultOr(ApiError.class, () -> OpenAiRoutes.chatCall(body, MAX_MODEL_LEN));
    }
}
