package org.flexllm.server.openai;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.TokenEvent;
import org.flexllm.server.ApiError;
import org.flexllm.server.EngineErrors;

/**
 * The engine requests of one HTTP request, one per choice. A streamed request's tokens and endings arrive, in
 * order per choice, on one queue that the HTTP thread drains: the engine thread only enqueues and never waits for a
 * slow client, and the HTTP thread takes everything queued at once, so it wakes once per batch of tokens however far
 * behind it fell.
 */
final class Choices {
    /** Something that happened to choice {@code index}. */
    sealed interface Item {
        int index();
    }

    /** A generated token. */
    record Token(int index, TokenEvent event) implements Item {}

    /** The choice ended: with its result, or with {@code error}. */
    record Done(int index, GenerationResult result, ApiError error) implements Item {}

    private final List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
    private final LinkedBlockingQueue<Item> items = new LinkedBlockingQueue<>();

    private Choices() {}

    /**
     * Submits every request to {@code engine} (an engine's {@code submit}), streaming each choice's tokens to the
     * queue when {@code stream}; when one cannot be submitted, those already submitted are cancelled.
     *
     * @throws ApiError what the engine refused, e.g. a prompt too long for the context
     */
    static Choices submit(Function<GenerationRequest, CompletableFuture<GenerationResult>> engine,
                          List<GenerationRequest> requests, boolean stream) {
        Choices choices = new Choices();
        try {
            for (int i = 0; i < requests.size(); i++) {
                int index = i;
                GenerationRequest r = requests.get(i);
                if (stream) {
                    r = r.withListener(event -> choices.items.add(new Token(index, event)));
                }
                CompletableFuture<GenerationResult> f = engine.apply(r);
                choices.futures.add(f);
                f.whenComplete((result, error) -> choices.items.add(
                        new Done(index, result, error == null ? null : EngineErrors.map(error))));
            }
        } catch (RuntimeException e) {
            choices.cancel();
            throw EngineErrors.map(e);
        }
        return choices;
    }

    int size() {
        return futures.size();
    }

    /**
     * Moves into {@code batch}, in order, every token and ending queued, waiting up to the time given for the first;
     * {@code batch} stays empty when none came.
     */
    void next(List<Item> batch, long timeout, TimeUnit unit) throws InterruptedException {
        Item first = items.poll(timeout, unit);
        if (first != null) {
            batch.add(first);
            items.drainTo(batch);
        }
    }

    /**
     * Waits for every choice.
     *
     * @throws ApiError the first choice's failure
     */
    List<GenerationResult> await() throws InterruptedException {
        List<GenerationResult> results = new ArrayList<>();
        try {
            for (CompletableFuture<GenerationResult> f : futures) {
                results.add(f.get());
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
            cancel();
            throw EngineErrors.map(e);
        } catch (InterruptedException e) {
            cancel();
            throw e;
        }
        return results;
    }

    /** Cancels every choice still running: the engine frees its KV blocks and adapter pin. */
    void cancel() {
        futures.forEach(f -> f.cancel(true));
    }
}
