package org.flexllm.api;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.flexllm.engine.TrainingSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import org.flexllm.FlexLlmException;
import org.flexllm.backend.Backend;
import java.util.concurrent.Flow;
import org.flexllm.engine.CoServingEngine;
import org.flexllm.model.ModelConfig;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tokenizer.ChatMessage;
import org.flexllm.tokenizer.Tokenizer;

/**
 * An in-process LLM engine: load a model once, then generate from any number of threads at once. Requests
 * are batched together continuously, so concurrent callers share each forward pass, whichever adapter each
 * runs on ({@link EngineBuilder#adapters}, {@link GenerationRequest#withAdapter}).
 * <pre>{@code
 * try (LlmEngine engine = LlmEngine.builder().model(Path.of("models/Llama-3.2-1B-Instruct")).build()) {
 *     GenerationResult r = engine.generate("The capital of France is", SamplingParams.greedy());
 *     System.out.println(r.text());
 *     engine.submit(GenerationRequest.of("Tell me a story")
 *                     .withListener(event -> System.out.print(event.text())))
 *           .join();
 * }
 * }</pre>
 */
public final class LlmEngine implements AutoCloseable {
    private final CoServingEngine engine;
    private final ModelConfig config;

    LlmEngine(CoServingEngine engine) {
        this(engine, engine.model().config());
    }

    /** An engine whose model is {@code config} (its compiled model may hold one rank's share of it). */
    LlmEngine(CoServingEngine engine, ModelConfig config) {
        this.engine = engine;
        this.config = config;
    }

    /** A builder; {@link EngineBuilder#model} is the one required setting. */
    public static EngineBuilder builder() {
        return new EngineBuilder();
    }

    /** Generates from a text prompt and waits for the result. */
    public GenerationResult generate(String prompt, SamplingParams params) {
        return generate(GenerationRequest.of(prompt).withParams(params));
    }

    /**
     * Runs a request and waits for the result; failures are rethrown as they were raised. Interrupting the
     * waiting thread cancels the request.
     *
     * @throws IllegalStateException from a token listener, which runs on the engine thread and so would wait
     *                               for itself: use {@link #submit} there
     */
    public GenerationResult generate(GenerationRequest request) {
        if (engine.isEngineThread()) {
            throw new IllegalStateException("generate() called from a token listener would block the engine"
                    + " thread it waits for; call submit() instead");
        }
        CompletableFuture<GenerationResult> future = submit(request);
        try {
            return future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting; the request was cancelled");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : new FlexLlmException("generation failed", e);
        }
    }

    /** Renders the messages with the chat template and generates the assistant's reply. */
    public GenerationResult chat(List<ChatMessage> messages, SamplingParams params) {
        return generate(new GenerationRequest(Prompt.chat(messages), params, null));
    }

    /**
     * Queues a request. Cancelling the returned future cancels the request and frees its resources (its
     * adapter's pin too).
     *
     * @throws org.flexllm.engine.PromptTooLongException when the prompt does not fit the context
     * @throws UnknownAdapterException    when the request names an adapter the engine does not serve
     */
    public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
        return engine.submit(encode(request.prompt()), request.params(), request.listener(), request.adapter(),
                request.slo(), request.speculative());
    }

    /**
     * The request's tokens as a reactive stream: the request starts when the subscriber subscribes; the
     * stream completes after the last token or fails with the request's error.
     */
    public Flow.Publisher<TokenEvent> stream(GenerationRequest request) {
        return new TokenPublisher(this, request);
    }

    /**
     * Scores a token sequence: {@code log P(ids[t] | ids[<t])} for every {@code t > 0} with the {@code top}
     * most likely alternatives.
     */
    public ScoreResult score(int[] ids, int top) {
        return score(ids, top, null);
    }

    /** As {@link #score(int[], int)}, under the named adapter (null: the base model). */
    public ScoreResult score(int[] ids, int top, String adapter) {
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(1).promptLogprobs(top).build();
        GenerationResult r = generate(new GenerationRequest(Prompt.ids(ids), params, null, adapter));
        return new ScoreResult(r.promptIds(), r.promptLogprobs());
    }

    /**
     * Attaches a finetuning job (the PEFT module's {@code Finetuner...coServe(engine, registry)} does): its
     * forward windows and backward slices run inside this engine's iterations, on what inference leaves.
     *
     * @throws IllegalStateException    under {@link org.flexllm.schedule.Policy#INFERENCE_ONLY}, or when closed
     * @throws IllegalArgumentException when the job's samples are longer than {@link EngineBuilder#maxFinetuneTokens}
     */
    public void attach(TrainingSource source) {
        engine.attach(source);
    }

    /** Where this engine's request and job metrics go. */
    public MeterRegistry meterRegistry() {
        return engine.meters();
    }

    /**
     * Token ids of a prompt as this engine feeds it to the model. A chat goes through the tokenizer's chat
     * template; a tokenizer without one (a base model) gets a plain {@code role: content} transcript ending in
     * {@code assistant:}.
     */
    public int[] encode(Prompt prompt) {
        Tokenizer tokenizer = engine.tokenizer();
        return switch (prompt) {
            case Prompt.Text t -> tokenizer.encode(t.text(), true);
            case Prompt.Ids ids -> ids.ids().stream().mapToInt(Integer::intValue).toArray();
            case Prompt.Chat chat -> tokenizer.hasChatTemplate()
                    ? tokenizer.encode(tokenizer.applyChatTemplate(chat.messages(), true), false)
                    : tokenizer.encode(PlainTranscript.render(chat.messages()), true);
        };
    }

    public Tokenizer tokenizer() {
        return engine.tokenizer();
    }

    /** The model's shape, whole even when it is split over tensor-parallel ranks. */
    public ModelConfig config() {
        return config;
    }

    /** The longest sequence, prompt and output together, this engine accepts. */
    public int maxModelLen() {
        return engine.config().maxModelLen();
    }

    /**
     * KV-cache blocks not held by any request or finetuning sample: back at {@link #kvBlocks()} when the engine
     * is idle, so a leak shows here. Read without synchronising with the engine thread: a gauge, exact only
     * between iterations.
     */
    public int freeKvBlocks() {
        return engine.freeKvBlocks();
    }

    /** KV-cache blocks in all. */
    public int kvBlocks() {
        return engine.kvBlocks();
    }

    /** The backend's name ({@code cpu}, {@code cuda}). */
    public String backend() {
        return engine.model().backend().name();
    }

    /**
     * The backend the engine computes on (rank 0's under tensor parallelism): where a co-served finetuning job's
     * parameters live and its optimizer steps run.
     */
    public Backend computeBackend() {
        return engine.model().backend();
    }

    /**
     * Stops serving: requests still in flight complete with a {@code CancellationException}, and the model's
     * memory is released once the engine's last pass is over. Idempotent.
     */
    @Override
    public void close() {
        engine.close();
    }
}
