package org.flexllm.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.flexllm.FlexLlmException;
import org.flexllm.api.FinishReason;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.TokenListener;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.ForwardBatch;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.sampling.Logprobs;
import org.flexllm.sampling.RandomSource;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.Sampler;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.flexllm.schedule.IterationPlan;
import org.flexllm.schedule.IterationPlan.Rejection;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Scheduler;
import org.flexllm.schedule.Sequence;
import org.flexllm.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iteration loop. One engine thread plans an iteration (the scheduler hands out the token budget), runs
 * one forward pass over the flat batch, samples, and delivers tokens; callers on any thread submit requests
 * through a queue and get futures back.
 */
public final class CoServingEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoServingEngine.class);

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final Scheduler scheduler;
    private final BatchBuilder batches;
    private final Tokenizer tokenizer;
    private final EngineConfig config;
    private final Sampler sampler;
    private final RandomSource randoms;
    private final Set<Integer> eos;
    private final LinkedBlockingQueue<Request> inbox = new LinkedBlockingQueue<>();
    private final Map<Sequence, Request> live = new HashMap<>();
    private final AtomicLong nextId = new AtomicLong();
    private final Thread thread;
    private volatile boolean closing;

    public CoServingEngine(CompiledModel model, PagedKvCache kv, Tokenizer tokenizer, EngineConfig config) {
        this.model = model;
        this.kv = kv;
        this.tokenizer = tokenizer;
        this.config = config;
        this.scheduler = new Scheduler(kv, config.maxSequences());
        this.batches = new BatchBuilder(model.config(), kv, config.tokenBudget());
        this.sampler = new Sampler(model.config().vocabSize());
        this.randoms = new RandomSource(config.seed());
        this.eos = Set.copyOf(model.config().eosTokenIds());
        this.thread = Thread.ofPlatform().name("flexllm-engine").daemon().start(this::loop);
    }

    /**
     * Queues a generation. Thread-safe.
     *
     * @throws PromptTooLongException   when the prompt leaves no room for a token within {@code maxModelLen}
     * @throws IllegalArgumentException when the prompt is empty or holds ids outside the vocabulary
     */
    public CompletableFuture<GenerationResult> submit(int[] prompt, SamplingParams params, TokenListener listener) {
        if (closing || !thread.isAlive()) {
            throw new IllegalStateException("the engine is closed");
        }
        validate(prompt);
        var future = new CompletableFuture<GenerationResult>();
        var sequence = new Sequence(nextId.getAndIncrement(), prompt, prompt.length + params.maxTokens());
        var history = new TokenHistory(model.config().vocabSize());
        history.addAll(prompt);
        var text = new OutputText(tokenizer.streamDecoder(params.skipSpecialTokens()), prompt, params.stopStrings());
        inbox.add(new Request(sequence, params, randoms.forRequest(params), history, text, listener, future));
        if (!thread.isAlive()) {
            cancelAll();
        }
        return future;
    }

    private void validate(int[] prompt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        if (prompt.length >= config.maxModelLen()) {
            throw new PromptTooLongException(prompt.length, config.maxModelLen());
        }
        int vocab = model.config().vocabSize();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + i + " is id " + prompt[i]
                        + ", outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    private void loop() {
        try {
            while (!closing) {
                iterate();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOG.error("the engine loop died; cancelling every request", e);
            closing = true;
            throw e;
        } finally {
            cancelAll();
        }
    }

    private void iterate() throws InterruptedException {
        if (!scheduler.hasWork()) {
            Request first = inbox.poll(50, TimeUnit.MILLISECONDS);
            if (first != null) {
                admit(first);
            }
        }
        for (Request r; (r = inbox.poll()) != null; ) {
            admit(r);
        }
        dropCancelled();
        IterationPlan plan = scheduler.schedule(config.tokenBudget());
        plan.rejected().forEach(this::reject);
        if (!plan.chunks().isEmpty()) {
            run(plan.chunks());
        }
    }

    private void admit(Request r) {
        if (!r.future.isDone()) {
            live.put(r.sequence, r);
            scheduler.add(r.sequence);
        }
    }

    private void dropCancelled() {
        List<Request> cancelled = live.values().stream().filter(r -> r.future.isDone()).toList();
        for (Request r : cancelled) {
            retire(r);
        }
    }

    private void run(List<ScheduledChunk> chunks) {
        chunks.forEach(c -> live.get(c.sequence()).markScheduled());
        ForwardBatch batch = batches.build(chunks, (s, p) -> live.get(s).wantsLogits(p));
        List<Request> sampled = new ArrayList<>();
        try {
            model.forward(batch, kv, (index, logits) -> onLogits(index, logits, sampled));
        } catch (RuntimeException e) {
            LOG.error("forward pass failed; failing the {} requests in the batch", chunks.size(), e);
            chunks.forEach(c -> fail(live.get(c.sequence()), new FlexLlmException("the forward pass failed", e)));
            return;
        }
        chunks.forEach(c -> c.sequence().advance(c.count()));
        for (Request r : sampled) {
            try {
                deliver(r);
            } catch (RuntimeException e) {
                LOG.error("delivering a token of request {} failed", r.sequence.id(), e);
                fail(r, new FlexLlmException("delivering the output failed: " + e.getMessage(), e));
            }
        }
    }

    private void onLogits(int index, float[] logits, List<Request> sampled) {
        Sequence s = batches.rowSequence(index);
        int position = batches.rowPosition(index);
        Request r = live.get(s);
        if (position == s.length() - 1) {
            r.pending = sample(r, logits);
            sampled.add(r);
        } else {
            int top = r.params.promptLogprobs().orElse(0);
            r.recordPromptLogprob(position + 1, Logprobs.forToken(logits, s.token(position + 1), top));
        }
    }

    private SampledToken sample(Request r, float[] logits) {
        if (r.params.logprobs().isPresent()) {
            return sampler.sample(logits, r.params, r.history, r.random);
        }
        return new SampledToken(sampler.choose(logits, r.params, r.history, r.random), 0f, List.of());
    }

    private void deliver(Request r) {
        int token = r.pending.id();
        boolean stop = !r.params.ignoreEos() && eos.contains(token) || r.params.stopTokenIds().contains(token);
        FinishReason finish = r.accept(r.pending, stop, config.maxModelLen());
        if (finish != null) {
            retire(r);
            r.future.complete(r.result(finish));
        }
    }

    private void reject(Rejection rejection) {
        fail(live.get(rejection.sequence()), new KvCacheTooSmallException(rejection.reason()));
    }

    private void fail(Request r, RuntimeException e) {
        retire(r);
        r.future.completeExceptionally(e);
    }

    private void retire(Request r) {
        live.remove(r.sequence);
        scheduler.remove(r.sequence);
    }

    private void cancelAll() {
        List<Request> pending = new ArrayList<>(live.values());
        inbox.drainTo(pending);
        for (Request r : pending) {
            r.future.completeExceptionally(new CancellationException(
                    "the engine was closed before request " + r.sequence.id() + " finished"));
        }
        live.clear();
    }

    /** Requests queued or running. */
    public int pending() {
        return live.size() + inbox.size();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public CompiledModel model() {
        return model;
    }

    public EngineConfig config() {
        return config;
    }

    /** Stops the loop; requests still in flight complete with a {@link CancellationException} saying why. */
    @Override
    public void close() {
        closing = true;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        model.backend().close();
    }
}
