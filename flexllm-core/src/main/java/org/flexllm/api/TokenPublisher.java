package org.flexllm.api;

import java.util.concurrent.Flow;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Publishes one request's tokens. The request is submitted when the (single) subscriber subscribes, so no
 * token is emitted before anyone listens; the buffer holds every token the request may produce, so the engine
 * thread never blocks on a slow subscriber.
 */
final class TokenPublisher implements Flow.Publisher<TokenEvent> {
    private final LlmEngine engine;
    private final GenerationRequest request;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    TokenPublisher(LlmEngine engine, GenerationRequest request) {
        this.engine = engine;
        this.request = request;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super TokenEvent> subscriber) {
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                public void request(long n) {}
                public void cancel() {}
            });
            subscriber.onError(new IllegalStateException("a token stream has a single subscriber"));
            return;
        }
        int capacity = Integer.highestOneBit(request.params().maxTokens() + 1) * 2;
        var publisher = new SubmissionPublisher<TokenEvent>(ForkJoinPool.commonPool(), capacity);
        publisher.subscribe(subscriber);
        TokenListener user = request.listener();
        engine.submit(request.withListener(event -> {
            if (user != null) {
                user.onToken(event);
            }
            publisher.submit(event);
        })).whenComplete((result, error) -> {
            if (error != null) {
                publisher.closeExceptionally(error);
            } else {
                publisher.close();
            }
        });
    }
}
