package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.flexllm.Shared;
import org.flexllm.api.FinishReason;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.ScoreResult;
import org.flexllm.api.TokenEvent;
import org.flexllm.model.Checkpoint;
import org.flexllm.sampling.Logprobs;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The public API's promises: thread safety, streaming, cancellation, seeds, stops, scoring, shutdown. */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EngineApiTest {
    private static final int[] ONCE_UPON = {1, 403, 407, 261, 378};
    private static LlmEngine engine;

    @BeforeAll
    static void start() {
        engine = LlmEngine.builder().model(Shared.stories260K()).build();
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    private static GenerationRequest request(int[] prompt, SamplingParams params) {
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(params);
    }

    private static int[] prompt(int seed) {
        return new int[] {1, 3 + seed * 37 % 500, 3 + seed * 101 % 500, 3 + seed * 7 % 500};
    }

    @Test
    void manyThreadsAtOnceGetWhatEachGetsAlone() throws Exception {
        var greedy = SamplingParams.builder().temperature(0).maxTokens(24).ignoreEos(true).build();
        List<List<Integer>> sequential = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            sequential.add(engine.generate(request(prompt(i), greedy)).ids());
        }
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<GenerationResult>> results = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int[] p = prompt(i);
                results.add(pool.submit(() -> engine.generate(request(p, greedy))));
            }
            for (int i = 0; i < 12; i++) {
                assertEquals(sequential.get(i), results.get(i).get(60, TimeUnit.SECONDS).ids(), "thread " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void publisherStreamsEveryTokenThenCompletes() throws Exception {
        var params = SamplingParams.builder().temperature(0).maxTokens(30).ignoreEos(true).build();
        List<TokenEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        engine.stream(request(ONCE_UPON, params)).subscribe(new Flow.Subscriber<>() {
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            public void onNext(TokenEvent e) {
                events.add(e);
            }

            public void onError(Throwable t) {
                done.countDown();
            }

            public void onComplete() {
                done.countDown();
            }
        });
        assertTrue(done.await(30, TimeUnit.SECONDS));
        List<Integer> expected = engine.generate(request(ONCE_UPON, params)).ids();
        assertEquals(expected, events.stream().map(TokenEvent::tokenId).toList());
        assertTrue(events.getLast().last());
        assertEquals(List.of(0, 1, 2), events.stream().limit(3).map(TokenEvent::index).toList());
    }

    @Test
    void cancellingTheSubscriptionCancelsTheRequest() throws Exception {
        var longRun = SamplingParams.builder().temperature(0).maxTokens(400).ignoreEos(true).build();
        double decodedBefore = decodeTokens();
        List<TokenEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch ended = new CountDownLatch(1);
        engine.stream(request(ONCE_UPON, longRun)).subscribe(new Flow.Subscriber<>() {
            Flow.Subscription subscription;

            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
            }

            public void onNext(TokenEvent e) {
                events.add(e);
                if (e.index() == 2) {
                    subscription.cancel();
                    ended.countDown();
                }
            }

            public void onError(Throwable t) {
                ended.countDown();
            }

            public void onComplete() {
                ended.countDown();
            }
        });
        assertTrue(ended.await(30, TimeUnit.SECONDS));
        // The request gives its KV blocks back when it ends: cancelled, after a few tokens; not, after all 400.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (engine.freeKvBlocks() < engine.kvBlocks()) {
            assertTrue(System.nanoTime() < deadline, "the cancelled request still holds KV blocks after 60 s");
            Thread.sleep(5);
        }
        double decoded = decodeTokens() - decodedBefore;
        assertTrue(decoded < 399, "the request went on after the cancel: " + decoded + " tokens decoded");
    }

    private static double decodeTokens() {
        return engine.meterRegistry().get("flexllm.tokens").tag("kind", "decode").counter().count();
    }

    @Test
    void aStreamWhoseRequestIsRefusedSignalsTheError() throws Exception {
        CountDownLatch failed = new CountDownLatch(1);
        var params = SamplingParams.builder().maxTokens(4).build();
        engine.stream(request(new int[engine.maxModelLen()], params)).subscribe(new Flow.Subscriber<>() {
            public void onSubscribe(Flow.Subscription s) {
                s.request(1);
            }

            public void onNext(TokenEvent e) {}

            public void onError(Throwable t) {
                if (t instanceof PromptTooLongException) {
                    failed.countDown();
                }
            }

            public void onComplete() {}
        });
        assertTrue(failed.await(10, TimeUnit.SECONDS));
    }

    @Test
    void aContinuationMayBlockOnAnotherRequestAndAListenerMayNot() {
        var params = SamplingParams.builder().temperature(0).maxTokens(4).build();
        var chained = engine.submit(request(ONCE_UPON, params))
                .thenApply(first -> engine.generate(request(prompt(5), params)));
        assertEquals(4, chained.join().ids().size());
        List<Throwable> fromListener = new CopyOnWriteArrayList<>();
        engine.generate(request(ONCE_UPON, params).withListener(e -> {
            try {
                engine.generate(request(prompt(6), params));
            } catch (IllegalStateException refused) {
                fromListener.add(refused);
            }
        }));
        assertEquals(4, fromListener.size());
    }

    @Test
    void cancellingAFutureStopsItsRequestAndOthersGoOn() throws Exception {
        var longRun = SamplingParams.builder().temperature(0).maxTokens(400).ignoreEos(true).build();
        CountDownLatch started = new CountDownLatch(1);
        var cancelled = engine.submit(request(ONCE_UPON, longRun).withListener(e -> started.countDown()));
        assertTrue(started.await(30, TimeUnit.SECONDS));
        assertTrue(cancelled.cancel(true));
        var greedy = SamplingParams.builder().temperature(0).maxTokens(8).build();
        assertEquals(8, engine.generate(request(prompt(3), greedy)).ids().size());
        assertThrows(CancellationException.class, cancelled::join);
    }

    @Test
    void aSeedMakesSamplingReproducibleWhateverElseRuns() {
        var seeded = SamplingParams.builder().temperature(1).maxTokens(40).seed(42).ignoreEos(true).build();
        List<Integer> alone = engine.generate(request(ONCE_UPON, seeded)).ids();
        List<CompletableFuture<GenerationResult>> crowd = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            crowd.add(engine.submit(request(prompt(i), SamplingParams.builder().maxTokens(30).build())));
        }
        List<Integer> inCrowd = engine.generate(request(ONCE_UPON, seeded)).ids();
        crowd.forEach(CompletableFuture::join);
        assertEquals(alone, inCrowd);
        var otherSeed = SamplingParams.builder().temperature(1).maxTokens(40).seed(43).ignoreEos(true).build();
        assertNotEquals(alone, engine.generate(request(ONCE_UPON, otherSeed)).ids());
    }

    @Test
    void stopTokenIdEndsGenerationWithThatToken() {
        var greedy = SamplingParams.builder().temperature(0).maxTokens(60).ignoreEos(true).build();
        List<Integer> free = engine.generate(request(ONCE_UPON, greedy)).ids();
        int stopAt = free.get(10);
        int firstIndex = free.indexOf(stopAt);
        var stopping = SamplingParams.builder().temperature(0).maxTokens(60).stopTokenIds(List.of(stopAt)).build();
        GenerationResult r = engine.generate(request(ONCE_UPON, stopping));
        assertEquals(free.subList(0, firstIndex + 1), r.ids());
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(FinishReason.LENGTH, engine.generate(request(ONCE_UPON, greedy)).finishReason());
    }

    @Test
    void stopStringCutsTheTextAndTheStreamNeverShowsIt() {
        var greedy = SamplingParams.builder().temperature(0).maxTokens(60).build();
        String free = engine.generate("Once upon a time", greedy).text();
        int at = free.indexOf("Lily");
        assertTrue(at > 0, free);
        StringBuilder streamed = new StringBuilder();
        var stopping = greedy.toBuilder().stopStrings(List.of("Lily", "no such text")).build();
        GenerationResult r = engine.generate(GenerationRequest.of("Once upon a time").withParams(stopping)
                .withListener(e -> streamed.append(e.text())));
        assertEquals(free.substring(0, at), r.text());
        assertEquals(r.text(), streamed.toString());
        assertEquals(FinishReason.STOP, r.finishReason());
    }

    @Test
    void streamedTextEqualsTheResultText() {
        var params = SamplingParams.builder().temperature(0.8).seed(5).maxTokens(80).build();
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = engine.generate(GenerationRequest.of("The zoo")
                .withParams(params).withListener(e -> streamed.append(e.text())));
        assertEquals(r.text(), streamed.toString());
        assertEquals(engine.tokenizer().decode(r.ids().stream().mapToInt(i -> i).toArray(), true).strip(),
                r.text().strip());
    }

    @Test
    void scoreGivesLogSoftmaxOfTheLogitsAtEachPosition() {
        int[] ids = {1, 403, 407, 261, 378, 432, 383};
        ScoreResult score = engine.score(ids, 3);
        assertNull(score.logprobs().get(0));
        try (Checkpoint c = Checkpoint.load(Shared.stories260K());
             var runner = new SingleSequence(c.config(), c.weights(), 16)) {
            List<float[]> logits = runner.logits(ids, ids.length);
            for (int t = 1; t < ids.length; t++) {
                SampledToken expected = Logprobs.forToken(logits.get(t - 1), ids[t], 3);
                SampledToken actual = score.logprobs().get(t);
                assertEquals(expected.logprob(), actual.logprob(), 1e-5, "position " + t);
                assertEquals(expected.topLogprobs().getFirst().id(), actual.topLogprobs().getFirst().id());
                assertEquals(3, actual.topLogprobs().size());
            }
        }
    }

    @Test
    void logprobsOfGeneratedTokensAreReturnedWhenAsked() {
        var params = SamplingParams.builder().temperature(0).maxTokens(5).logprobs(2).ignoreEos(true).build();
        GenerationResult r = engine.generate(request(ONCE_UPON, params));
        assertEquals(5, r.logprobs().size());
        for (int i = 0; i < 5; i++) {
            SampledToken t = r.logprobs().get(i);
            assertEquals(r.ids().get(i), t.id());
            assertEquals(t.topLogprobs().getFirst().logprob(), t.logprob(), 1e-6, "greedy picks the top token");
        }
    }

    @Test
    void closingCancelsRequestsInFlightWithAReason() {
        LlmEngine other = LlmEngine.builder().model(Shared.stories260K()).build();
        var forever = SamplingParams.builder().temperature(0).maxTokens(100_000).ignoreEos(true).build();
        var inFlight = other.submit(request(ONCE_UPON, forever));
        other.close();
        other.close();
        var error = assertThrows(CancellationException.class, inFlight::join);
        Throwable reason = error.getCause() != null ? error.getCause() : error;
        assertTrue(reason.getMessage().contains("closed"), reason.getMessage());
        assertThrows(IllegalStateException.class, () -> other.submit(request(ONCE_UPON, forever)));
    }
}
