package org.flexllm.api;

import java.util.Objects;
import org.flexllm.sampling.SamplingParams;

/**
 * One generation: a prompt, how to sample, and optionally a listener for streamed tokens.
 * <pre>{@code
 * var request = GenerationRequest.of("Once upon a time")
 *         .withParams(SamplingParams.builder().temperature(0.8).maxTokens(64).build())
 *         .withListener(event -> System.out.print(event.text()));
 * }</pre>
 *
 * @param prompt   text, ids or chat messages
 * @param params   sampling and stopping
 * @param listener receives each token as it is generated, or null
 */
public record GenerationRequest(Prompt prompt, SamplingParams params, TokenListener listener) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(params, "params");
    }

    /** A text prompt with default sampling. */
    public static GenerationRequest of(String text) {
        return new GenerationRequest(Prompt.text(text), SamplingParams.builder().build(), null);
    }

    public static GenerationRequest of(Prompt prompt) {
        return new GenerationRequest(prompt, SamplingParams.builder().build(), null);
    }

    public GenerationRequest withParams(SamplingParams params) {
        return new GenerationRequest(prompt, params, listener);
    }

    public GenerationRequest withListener(TokenListener listener) {
        return new GenerationRequest(prompt, params, listener);
    }
}
