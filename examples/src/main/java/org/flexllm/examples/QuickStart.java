package org.flexllm.examples;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.sampling.SamplingParams;

/**
 * The Java API in one page: build an engine, generate and wait, stream tokens as they come, cancel a request,
 * close. Runs on a random-weight model by default (no download, so the text is noise); pass a Hugging Face
 * model folder to use a real model: {@code java ... org.flexllm.examples.QuickStart path/to/model}.
 */
public final class QuickStart {
    private QuickStart() {}

    public static void main(String[] args) throws InterruptedException {
        String model = args.length > 0 ? args[0] : "synthetic:tiny";
        try (LlmEngine engine = LlmEngine.builder().model(model).maxSequences(8).build()) {
            // Generate and wait for the whole result.
            GenerationResult r = engine.generate("Once upon a time",
                    SamplingParams.builder().temperature(0).maxTokens(32).build());
            System.out.printf("%s%n[%d tokens, %s, TTFT %.1f ms]%n", r.text(), r.ids().size(),
                    r.finishReason().label(), r.timings().ttftMs());

            // Stream: the listener runs on the engine thread as each token is generated.
            CompletableFuture<GenerationResult> streamed = engine.submit(GenerationRequest.of("The little dog")
                    .withParams(SamplingParams.builder().temperature(0.8).seed(42).maxTokens(32).build())
                    .withListener(event -> System.out.print(event.text())));
            System.out.printf("%n[%d tokens streamed]%n", streamed.join().ids().size());

            // Cancel: cancelling the future stops the request and frees its KV cache.
            CountDownLatch started = new CountDownLatch(4);
            CompletableFuture<GenerationResult> endless = engine.submit(GenerationRequest.of("A very long story")
                    .withParams(SamplingParams.builder().maxTokens(500).ignoreEos(true).build())
                    .withListener(event -> started.countDown()));
            started.await();
            boolean cancelled = endless.cancel(true);
            System.out.println(cancelled ? "cancelled after a few tokens" : "finished before the cancel");
        }
    }
}
