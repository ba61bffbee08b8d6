package org.flexllm.api;

import java.util.Objects;
import org.flexllm.sampling.SamplingParams;

/**
 * One generation: a prompt, how to sample, optionally a listener for streamed tokens and the adapter to run
 * on.
 * <pre>{@code
 * var request = GenerationRequest.of("Once upon a time")
 *         .withParams(SamplingParams.builder().temperature(0.8).maxTokens(64).build())
 *         .withListener(event -> System.out.print(event.text()))
 *         .withAdapter("stories-lora");
 * }</pre>
 *
 * @param prompt   text, ids or chat messages
 * @param params   sampling and stopping
 * @param listener receives each token as it is generated, or null
 * @param adapter  the name of an adapter the engine's {@link AdapterHost} serves, or null for the base model
 * @param slo         the request's latency targets, or null for the engine's defaults
 * @param speculative whether the request decodes speculatively when the engine speculates (the default); a
 *                    request may opt out, and then decodes one token per iteration
 */
public record GenerationRequest(Prompt prompt, SamplingParams params, TokenListener listener, String adapter,
                                Slo slo, boolean speculative) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(params, "params");
    }

    /** A request that speculates when the engine does. */
    public GenerationRequest(Prompt prompt, SamplingParams params, TokenListener listener, String adapter, Slo slo) {
        this(prompt, params, listener, adapter, slo, true);
    }

    /** A request on the base model. */
    public GenerationRequest(Prompt prompt, SamplingParams params, TokenListener listener) {
        this(prompt, params, listener, null, null);
    }

    /** A request with the engine's default latency targets. */
    public GenerationRequest(Prompt prompt, SamplingParams params, TokenListener listener, String adapter) {
        this(prompt, params, listener, adapter, null);
    }

    /** A text prompt with default sampling. */
    public static GenerationRequest of(String text) {
        return of(Prompt.text(text));
    }

    public static GenerationRequest of(Prompt prompt) {
        return new GenerationRequest(prompt, SamplingParams.builder().build(), null);
    }

    public GenerationRequest withParams(SamplingParams params) {
        return new GenerationRequest(prompt, params, listener, adapter, slo, speculative);
    }

    public GenerationRequest withListener(TokenListener listener) {
        return new GenerationRequest(prompt, params, listener, adapter, slo, speculative);
    }

    /** The same request on the named adapter, or on the base model when {@code adapter} is null. */
    public GenerationRequest withAdapter(String adapter) {
        return new GenerationRequest(prompt, params, listener, adapter, slo, speculative);
    }

    /** The same request, decoding speculatively when the engine speculates, or never when {@code false}. */
    public GenerationRequest withSpeculation(boolean speculative) {
        return new GenerationRequest(prompt, params, listener, adapter, slo, speculative);
    }

    /** The same request with its own latency targets instead of the engine's defaults. */
    public GenerationRequest withSlo(Slo slo) {
        return new GenerationRequest(prompt, params, listener, adapter, slo, speculative);
    }
}
