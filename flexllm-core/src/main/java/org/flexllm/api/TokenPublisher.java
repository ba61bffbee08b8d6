package org.flexllm.api;

import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Publishes one request's tokens. The request is submitted when the (single) subscriber subscribes, so no
 * token is emitted before anyone listens; cancelling the subscription cancels the request. The buffer holds
 * every token the request may produce, so the engine thread never blocks on a slow subscriber.
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
        Objects.requireNonNull(subscriber, "subscriber");
        int capacity = Math.min(request.params().maxTokens(), engine.maxModelLen()) + 1;
        var publisher = new SubmissionPublisher<TokenEvent>(ForkJoinPool.commonPool(), capacity);
        var cancelling = new CancellingSubscriber(subscriber);
        publisher.subscribe(cancelling);
        if (!subscribed.compareAndSet(false, true)) {
            publisher.closeExceptionally(new IllegalStateException("a token stream has a single subscriber"));
            return;
        }
        TokenListener user = request.listener();
        try {
            var running = engine.submit(request.withListener(event -> {
                try {
                    if (user != null) {
                        user.onToken(event);
                    }
                } finally {
                    publisher.submit(event);
                }
            }));
            cancelling.attach(running);
            running.whenComplete((result, error) -> {
                if (error != null) {
                    publisher.closeExceptionally(error);
                } else {
                    publisher.close();
                }
            });
        } catch (RuntimeException e) {
            publisher.closeExceptionally(e);
        }
    }

    /** Passes everything through, and turns the subscription's cancel into the request's. */
    private static final class CancellingSubscriber implements Flow.Subscriber<TokenEvent> {
        private final Flow.Subscriber<? super TokenEvent> delegate;
        private final AtomicReference<Future<?>> request = new AtomicReference<>();
        private volatile boolean cancelled;

        CancellingSubscriber(Flow.Subscriber<? super TokenEvent> delegate) {
            this.delegate = delegate;
        }

        void attach(Future<?> running) {
            request.set(running);
            if (cancelled) {
                running.cancel(true);
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            delegate.onSubscribe(new Flow.Subscription() {
                public void request(long n) {
                    subscription.request(n);
                }

                public void cancel() {
                    cancelled = true;
                    subscription.cancel();
                    Future<?> running = request.get();
                    if (running != null) {
                        running.cancel(true);
                    }
                }
            });
        }

        @Override
        public void onNext(TokenEvent event) {
            delegate.onNext(event);
        }

        @Override
        public void onError(Throwable error) {
            delegate.onError(error);
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }
    }
}
