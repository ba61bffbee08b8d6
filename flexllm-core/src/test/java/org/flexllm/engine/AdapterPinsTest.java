package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.flexllm.Shared;
import org.flexllm.FlexLlmException;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.TokenEvent;
import org.flexllm.api.UnknownAdapterException;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.Op;
import org.flexllm.graph.Step;
import org.flexllm.graph.Value;
import org.flexllm.model.ModelConfig;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every request that names an adapter pins it once at submission and releases it once, however it ends. */
class AdapterPinsTest {
    private static final int[] PROMPT = {1, 403, 407, 261, 378};
    private static final SamplingParams SHORT =
            SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build();
    private static final SamplingParams ENDLESS =
            SamplingParams.builder().temperature(0).maxTokens(100_000).ignoreEos(true).build();
    private static final int POISON = 2;

    private static CountingHost host;
    private static LlmEngine engine;

    /** Hands out fixed slots; the poison slot's tokens make the forward pass throw. */
    static final class CountingHost implements AdapterHost {
        final Map<String, Integer> slots = Map.of("a", 0, "b", 1, "poison", POISON);
        final int[] pins = new int[slots.size()];
        final List<String> errors = new CopyOnWriteArrayList<>();
        final List<ModelConfig> bound = new CopyOnWriteArrayList<>();
        int acquires;

        @Override
        public List<GraphPass> passes(ModelConfig model) {
            bound.add(model);
            return List.of(graph -> graph.insertBefore(graph.layer().getFirst(), new Poison(graph.residual())));
        }

        @Override
        public void check(String name) {
            if (!slots.containsKey(name)) {
                throw new UnknownAdapterException("no adapter '" + name + "'");
            }
        }

        @Override
        public synchronized int tryAcquire(String name) {
            check(name);
            int slot = slots.get(name);
            pins[slot]++;
            acquires++;
            return slot;
        }

        @Override
        public synchronized void release(int slot) {
            if (pins[slot] == 0) {
                errors.add("slot " + slot + " released more often than acquired");
            } else {
                pins[slot]--;
            }
        }

        synchronized int pinned() {
            int total = 0;
            for (int p : pins) {
                total += p;
            }
            return total;
        }

        synchronized int acquires() {
            return acquires;
        }

        /** Waits for the engine thread to release what ended on another thread (a cancel). */
        void awaitUnpinned() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (pinned() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, pinned(), "pins left");
            assertEquals(List.of(), errors);
        }
    }

    /** Fails the forward pass of any batch holding a token on the poison slot. */
    record Poison(Value x) implements Op {
        public List<Value> reads() { return List.of(x); }
        public List<Value> writes() { return List.of(); }

        public void forward(Step s) {
            s.forEachAdapterSegment((adapter, first, count) -> {
                if (adapter == POISON) {
                    throw new IllegalStateException("poisoned adapter slot");
                }
            });
        }

        public void backward(Step s) {}
    }

    @BeforeAll
    static void start() {
        host = new CountingHost();
        engine = LlmEngine.builder().model(Shared.stories260K()).maxSequences(4).adapters(host).build();
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    @AfterEach
    void balanced() throws InterruptedException {
        host.awaitUnpinned();
    }

    private static GenerationRequest request(SamplingParams params, String adapter) {
        return GenerationRequest.of(Prompt.ids(PROMPT)).withParams(params).withAdapter(adapter);
    }

    @Test
    void theHostIsBoundOnceToTheModel() {
        assertEquals(List.of(engine.config()), host.bound);
    }

    @Test
    void finishedRequestsReleaseBeforeTheirResultArrives() {
        int before = host.acquires();
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        for (String adapter : new String[] {"a", "b", null, "a"}) {
            futures.add(engine.submit(request(SHORT, adapter)));
        }
        futures.forEach(CompletableFuture::join);
        assertEquals(0, host.pinned());
        assertEquals(before + 3, host.acquires());
        assertEquals(PROMPT.length, engine.score(PROMPT, 1, "b").logprobs().size());
        assertEquals(0, host.pinned());
        assertEquals(before + 4, host.acquires());
    }

    @Test
    void aStreamedRequestReleasesWhenItCompletes() throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        engine.stream(request(SHORT, "a")).subscribe(new Flow.Subscriber<TokenEvent>() {
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            public void onNext(TokenEvent e) {}

            public void onError(Throwable t) {
                done.countDown();
            }

            public void onComplete() {
                done.countDown();
            }
        });
        assertTrue(done.await(30, TimeUnit.SECONDS));
    }

    @Test
    void cancelledRequestsReleaseRunningOrQueued() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        var running = engine.submit(request(ENDLESS, "a").withListener(e -> started.countDown()));
        assertTrue(started.await(30, TimeUnit.SECONDS));
        List<CompletableFuture<GenerationResult>> queued = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            queued.add(engine.submit(request(ENDLESS, i % 2 == 0 ? "a" : "b")));
        }
        queued.forEach(f -> f.cancel(true));
        assertTrue(running.cancel(true));
        host.awaitUnpinned();
        assertThrows(CancellationException.class, running::join);
    }

    @Test
    void aFailedForwardPassReleasesEveryRequestInTheBatch() {
        var healthy = engine.submit(request(ENDLESS, "a"));
        var poisoned = engine.submit(request(SHORT, "poison"));
        var error = assertThrows(CompletionException.class, poisoned::join);
        assertTrue(error.getCause() instanceof FlexLlmException, error.toString());
        assertThrows(CompletionException.class, healthy::join);
        assertEquals(6, engine.generate(request(SHORT, "b")).ids().size());
    }

    @Test
    void anUnknownAdapterIsRefusedAtSubmissionAndPinsNothing() {
        int before = host.acquires();
        assertThrows(UnknownAdapterException.class, () -> engine.submit(request(SHORT, "nope")));
        assertEquals(before, host.acquires());
    }

    @Test
    void closingReleasesRunningAndQueuedRequests() {
        CountingHost own = new CountingHost();
        LlmEngine closing = LlmEngine.builder().model(Shared.stories260K()).maxSequences(2).adapters(own).build();
        List<CompletableFuture<GenerationResult>> inFlight = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            inFlight.add(closing.submit(request(ENDLESS, i % 2 == 0 ? "a" : "b")));
        }
        closing.close();
        // However many got their slot before the close (the engine thread acquires them), all were released.
        assertEquals(0, own.pinned());
        assertTrue(own.acquires() <= 6);
        assertEquals(List.of(), own.errors);
        inFlight.forEach(f -> assertThrows(CancellationException.class, f::join));
    }

    @Test
    void anEngineWithoutAHostRefusesAdapterRequests() {
        try (LlmEngine plain = LlmEngine.builder().model(Shared.stories260K()).build()) {
            var error = assertThrows(UnknownAdapterException.class, () -> plain.generate(request(SHORT, "a")));
            assertTrue(error.getMessage().contains("EngineBuilder.adapters"), error.getMessage());
            assertEquals(6, plain.generate(request(SHORT, null)).ids().size());
        }
    }
}
