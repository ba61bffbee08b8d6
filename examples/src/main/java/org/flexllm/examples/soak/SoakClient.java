package org.flexllm.examples.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.TokenEvent;
import org.flexllm.sampling.SamplingParams;

/**
 * Submits the soak's requests and turns each into a {@link SoakOutcome}: how it ended, and whether the tokens its
 * consumer saw are exactly the tokens of its result.
 */
final class SoakClient {
    /** How a request's tokens are consumed. */
    enum Consumer { COLLECTING, THROWING, SLOW_STREAM }

    private final LlmEngine engine;
    private final List<String> adapters;
    private final SoakConfig config;
    private final ScheduledExecutorService canceller;
    private final Queue<SoakOutcome> outcomes = new ConcurrentLinkedQueue<>();
    private final Set<CompletableFuture<?>> open = ConcurrentHashMap.newKeySet();
    private volatile int stuck;

    SoakClient(LlmEngine engine, List<String> adapters, SoakConfig config, ScheduledExecutorService canceller) {
        this.engine = engine;
        this.adapters = adapters;
        this.config = config;
        this.canceller = canceller;
    }

    /** Submits {@code count} random requests, one after the other from the calling thread. */
    List<CompletableFuture<SoakOutcome>> submit(int count, Random random) {
        List<CompletableFuture<SoakOutcome>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            futures.add(submitOne(random));
        }
        return futures;
    }

    List<SoakOutcome> outcomes() {
        return List.copyOf(outcomes);
    }

    int stuck() {
        return stuck;
    }

    /** Called at the deadline: every request still open is stuck. */
    void markOpenAsStuck() {
        stuck = (int) open.stream().filter(f -> !f.isDone()).count();
    }

    private CompletableFuture<SoakOutcome> submitOne(Random random) {
        String adapter = random.nextInt(adapters.size() + 1) == 0 || adapters.isEmpty() ? null
                : adapters.get(random.nextInt(adapters.size()));
        GenerationRequest request = GenerationRequest.of(Prompt.ids(prompt(random))).withParams(params(random))
                .withAdapter(adapter);
        Consumer consumer = Consumer.values()[random.nextInt(Consumer.values().length)];
        boolean cancel = random.nextDouble() < config.cancelFraction();
        long cancelAfterUs = random.nextInt(20_000);
        CompletableFuture<SoakOutcome> outcome = consumer == Consumer.SLOW_STREAM
                ? stream(request, cancel, cancelAfterUs) : listen(request, consumer, cancel, cancelAfterUs);
        open.add(outcome);
        return outcome.whenComplete((o, e) -> {
            outcomes.add(o);
            open.remove(outcome);
        });
    }

    private CompletableFuture<SoakOutcome> listen(GenerationRequest request, Consumer consumer, boolean cancel,
                                                  long cancelAfterUs) {
        List<Integer> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<GenerationResult> future;
        try {
            future = engine.submit(request.withListener(event -> {
                seen.add(event.tokenId());
                if (consumer == Consumer.THROWING && event.index() == 1) {
                    throw new IllegalStateException("a consumer that throws at its second token");
                }
            }));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(SoakOutcome.refused(e));
        }
        if (cancel) {
            canceller.schedule(() -> future.cancel(true), cancelAfterUs, TimeUnit.MICROSECONDS);
        }
        return future.handle((result, error) -> error == null ? SoakOutcome.completed(result.ids(), seen)
                : SoakOutcome.ended(unwrap(error)));
    }

    /** A subscriber that takes a millisecond per token on its own thread, and checks the events' order. */
    private CompletableFuture<SoakOutcome> stream(GenerationRequest request, boolean cancel, long cancelAfterUs) {
        CompletableFuture<SoakOutcome> outcome = new CompletableFuture<>();
        engine.stream(request).subscribe(new Flow.Subscriber<>() {
            private final List<Integer> seen = new ArrayList<>();
            private Flow.Subscription subscription;
            private boolean last;
            private int outOfOrder;

            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
                if (cancel) {
                    canceller.schedule(() -> {
                        s.cancel();
                        outcome.complete(SoakOutcome.ended(new CancellationException("cancelled by the client")));
                    }, cancelAfterUs, TimeUnit.MICROSECONDS);
                }
            }

            @Override
            public void onNext(TokenEvent event) {
                if (event.index() != seen.size()) {
                    outOfOrder++;
                }
                seen.add(event.tokenId());
                last |= event.last();
                sleepAMillisecond();
            }

            @Override
            public void onError(Throwable error) {
                outcome.complete(SoakOutcome.ended(unwrap(error)));
            }

            @Override
            public void onComplete() {
                outcome.complete(last && outOfOrder == 0 ? SoakOutcome.completed(seen, seen)
                        : SoakOutcome.streamBroken(seen.size(), outOfOrder, last));
            }
        });
        return outcome;
    }

    private int[] prompt(Random random) {
        int[] ids = new int[1 + random.nextInt(48)];
        int vocab = engine.config().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    private SamplingParams params(Random random) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(1 + random.nextInt(config.maxTokens()))
                .seed(random.nextLong()).ignoreEos(random.nextBoolean());
        return switch (random.nextInt(4)) {
            case 0 -> b.temperature(0).build();
            case 1 -> b.temperature(0.8).build();
            case 2 -> b.temperature(1).topP(0.9).build();
            default -> b.temperature(0.7).topK(20).repetitionPenalty(1.1).build();
        };
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    private static void sleepAMillisecond() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
