package org.flexllm.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.flexllm.sampling.SampledToken;

/**
 * The outcome of one generation request.
 *
 * @param promptIds      the prompt as the model saw it
 * @param ids            the generated tokens (a stop token is included, a stop string's tokens too)
 * @param text           the generated text, ending before any stop string
 * @param finishReason   why generation ended
 * @param logprobs       per generated token, when requested; otherwise empty
 * @param promptLogprobs per prompt token, when requested (entry 0 is null: nothing precedes it); otherwise
 *                       empty
 * @param timings        queue time, TTFT, TPOT, end-to-end
 * @param preemptions    how often the request was evicted from the KV cache and recomputed
 * @param slo            the latency targets the request ran under
 */
public record GenerationResult(List<Integer> promptIds, List<Integer> ids, String text, FinishReason finishReason,
                               List<SampledToken> logprobs, List<SampledToken> promptLogprobs, Timings timings,
                               int preemptions, Slo slo) {
    public GenerationResult {
        promptIds = List.copyOf(promptIds);
        ids = List.copyOf(ids);
        logprobs = List.copyOf(logprobs);
        promptLogprobs = Collections.unmodifiableList(new ArrayList<>(promptLogprobs));
    }

    /** Whether the request met its latency targets. */
    public boolean sloMet() {
        return slo.metBy(timings);
    }
}
