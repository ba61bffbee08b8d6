package org.flexllm.engine;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.function.Consumer;
import org.flexllm.schedule.LatencyModel;
import org.flexllm.graph.TrainingWindow;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.flexllm.FlexLlmException;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.FinishReason;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Slo;
import org.flexllm.api.TokenListener;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.LogitsSink;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.sampling.Logprobs;
import org.flexllm.sampling.RandomSource;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.Sampler;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.flexllm.schedule.CoServingPlan;
import org.flexllm.schedule.HybridScheduler;
import org.flexllm.schedule.IterationPlan;
import org.flexllm.schedule.Policy;
import org.flexllm.schedule.IterationPlan.Rejection;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Scheduler;
import org.flexllm.schedule.Sequence;
import org.flexllm.schedule.TreeDrafting;
import org.flexllm.speculation.Speculator;
import org.flexllm.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iteration loop. One engine thread plans an iteration ({@link HybridScheduler}: inference tokens first,
 * then finetuning work that keeps the requests' SLOs), runs one forward pass over the flat batch of decode
 * tokens, prefill chunks and a finetuning window, samples, runs a backward slice of a finetuning sample, and
 * delivers tokens; then it tells the latency model what the iteration took. Callers on any thread submit
 * requests and attach finetuning jobs through queues and get futures back. Futures complete on the common pool,
 * never on the engine thread, so a caller's continuation may block on another request without stalling the loop.
 */
public final class CoServingEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoServingEngine.class);
    /** How long an idle loop sleeps before looking at its closing flag again. */
    private static final long IDLE_POLL_MS = 50;

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final Scheduler scheduler;
    private final HybridScheduler hybrid;
    private final TrainingJobs jobs;
    private final LatencyModel latency;
    private final EngineMetrics metrics;
    private final IterationTrace trace;
    private final ConcurrentLinkedQueue<TrainingSource> attaching = new ConcurrentLinkedQueue<>();
    private long iterations;
    private final long startNanos;
    private final BatchBuilder batches;
    private final Tokenizer tokenizer;
    private final EngineConfig config;
    private final Sampler sampler;
    private final RandomSource randoms;
    /** The model's end-of-sequence ids, unboxed: every sampled token is checked against them. */
    private final int[] eos;
    private final AdapterHost adapters;
    private final LinkedBlockingQueue<Request> inbox = new LinkedBlockingQueue<>();
    private final Map<Sequence, Request> live = new HashMap<>();
    /** Requests whose adapter waits for a slot, in arrival order; not yet scheduled. */
    private final List<Request> awaitingAdapter = new ArrayList<>();
    private final AtomicLong nextId = new AtomicLong();
    private final AutoCloseable weights;
    private final Thread thread;
    private final Instruments instruments;
    private volatile boolean closing;
    private volatile Throwable death;
    // Per-iteration state, owned by the engine thread and cleared rather than reallocated, so that the loop
    // allocates almost nothing and no GC pause breaks an SLO.
    /** Tokens sampled in the current iteration, delivered once it is over. */
    private final SampledTokens sampled;
    /** Requests whose rows failed in the current iteration (rare), with why. */
    private final Map<Request, RuntimeException> failed = new HashMap<>();
    private final List<Request> cancelled = new ArrayList<>();
    private final BatchBuilder.LogitsWanted logitsWanted = (s, p) -> live.get(s).wantsLogits(p);
    private final LogitsSink onLogits = this::onLogits;
    /** Speculative decoding, or null when the engine decodes one token per request and iteration. */
    private final Speculation speculation;
    private final BatchBuilder.Trees trees;

    /**
     * How the engine measures and reports.
     *
     * @param clock     the clock latencies are measured with
     * @param latency   the latency model to schedule with, or null to calibrate one at start-up
     * @param meters    where request and job metrics go
     * @param traceFile where the iteration trace is written, or null
     * @param listeners called after every iteration
     */
    public record Instruments(EngineClock clock, LatencyModel latency, MeterRegistry meters, Path traceFile,
                              List<Consumer<IterationRecord>> listeners) {}

    /**
     * Attaches a finetuning job; its samples run inside the serving iterations as the policy allows. Thread-safe.
     *
     * @throws IllegalStateException    under {@link Policy#INFERENCE_ONLY}, or when the engine is closed
     * @throws IllegalArgumentException when the job's samples may be longer than the engine's finetuning limit
     */
    public void attach(TrainingSource source) {
        checkOpen();
        if (config.policy() == Policy.INFERENCE_ONLY) {
            throw new IllegalStateException("the engine runs the inference-only policy: it does not finetune");
        }
        if (source.maxSampleTokens() > config.maxFinetuneTokens()) {
            throw new IllegalArgumentException("finetuning job '" + source.name() + "' has samples of up to "
                    + source.maxSampleTokens() + " tokens; this engine takes at most " + config.maxFinetuneTokens()
                    + " (EngineBuilder.maxFinetuneTokens)");
        }
        attaching.add(source);
        if (closing && attaching.remove(source)) {
            source.detached(new CancellationException("the engine was closed before finetuning job '"
                    + source.name() + "' started"));
        }
    }

    /**
     * Starts the loop.
     *
     * @param adapters the adapters requests may name; {@code model} was compiled with its passes
     * @param weights    what holds the model's weights (a mapped checkpoint), closed after the loop's last pass
     * @param speculator drafts and verifies token trees, or null for no speculative decoding
     */
    public CoServingEngine(CompiledModel model, PagedKvCache kv, Tokenizer tokenizer, EngineConfig config,
                           AdapterHost adapters, AutoCloseable weights, Instruments instruments,
                           Speculator speculator) {
        this.model = model;
        this.instruments = instruments;
        this.adapters = adapters;
        this.weights = weights;
        this.kv = kv;
        this.tokenizer = tokenizer;
        this.config = config;
        this.scheduler = new Scheduler(kv, config.maxSequences());
        this.batches = new BatchBuilder(model.config(), kv, config.tokenBudget());
        this.latency = instruments.latency() != null ? instruments.latency()
                : new Profiler(model, kv, batches).calibrate(config.tokenBudget(), config.maxSequences(),
                        config.policy() != Policy.INFERENCE_ONLY, speculator != null);
        LOG.debug("latency model: {}", latency);
        this.speculation = speculator == null ? null : new Speculation(speculator, latency, kv, model,
                live, config, model.config().vocabSize(), new SpeculationMetrics(instruments.meters()));
        this.trees = speculation == null ? BatchBuilder.Trees.NONE : speculation::treeOf;
        this.hybrid = new HybridScheduler(scheduler, latency, config.policy(), config.tokenBudget(),
                config.slo().ttftMs() / 4, config.temporalEvery(), config.spatialShare(),
                speculation == null ? TreeDrafting.NONE : speculation);
        this.jobs = new TrainingJobs(model, kv, hybrid, config.maxFinetuneTokens(), config.tokenBudget());
        this.metrics = new EngineMetrics(instruments.meters(), latency);
        this.trace = instruments.traceFile() == null ? null : new IterationTrace(instruments.traceFile());
        this.startNanos = instruments.clock().nanoTime();
        this.sampler = new Sampler(model.config().vocabSize());
        this.randoms = new RandomSource(config.seed());
        this.eos = model.config().eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
        this.sampled = new SampledTokens(config.tokenBudget());
        this.thread = Thread.ofPlatform().name("flexllm-engine").daemon().start(this::loop);
    }

    /**
     * Queues a generation, on the named adapter (pinned from the request's first iteration until it ends; while
     * every adapter slot is pinned by others the request waits in the queue, without preempting anyone) or on the
     * base model when {@code adapter} is null, under latency targets {@code slo} (null: the engine's
     * defaults), speculatively when the engine speculates and {@code speculative} is set. Thread-safe.
     *
     * @throws PromptTooLongException   when the prompt leaves no room for a token within {@code maxModelLen}
     * @throws IllegalArgumentException when the prompt is empty or holds ids outside the vocabulary
     * @throws IllegalStateException    when the engine is closed
     * @throws org.flexllm.api.UnknownAdapterException   when the adapter host does not know {@code adapter}
     */
    public CompletableFuture<GenerationResult> submit(int[] prompt, SamplingParams params, TokenListener listener,
                                                      String adapter, Slo slo, boolean speculative) {
        checkOpen();
        validate(prompt);
        var future = new CompletableFuture<GenerationResult>();
        int expectedLength = (int) Math.min((long) prompt.length + params.maxTokens(), config.maxModelLen());
        var history = new TokenHistory(model.config().vocabSize());
        history.addPrompt(prompt);
        var text = new OutputText(tokenizer.streamDecoder(params.skipSpecialTokens()), prompt, params.stopStrings());
        if (adapter != null) {
            adapters.check(adapter);
        }
        var sequence = new Sequence(nextId.getAndIncrement(), prompt, expectedLength,
                adapter == null ? -1 : Sequence.AWAITING_ADAPTER);
        Request request = new Request(sequence, adapter, params, randoms.forRequest(params), history, text, listener,
                future, slo == null ? config.slo() : slo, instruments.clock().nanoTime(), speculative);
        inbox.add(request);
        // The loop drains the inbox once after it stops; a request that arrived later is answered here.
        if (closing && inbox.remove(request)) {
            future.completeExceptionally(closedError(request));
        }
        return future;
    }

    private void checkOpen() {
        if (death != null) {
            throw new IllegalStateException("the engine stopped after an internal error: " + death, death);
        }
        if (closing) {
            throw new IllegalStateException("the engine is closed");
        }
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
            LOG.error("the engine loop died; failing every request", e);
            death = e;
            closing = true;
        } finally {
            closing = true;
            failAll();
            stopJobs();
            release();
        }
    }

    private void release() {
        if (trace != null) {
            trace.close();
        }
        model.backend().close();
        try {
            weights.close();
        } catch (Exception e) {
            LOG.warn("closing the model's weights failed", e);
        }
    }

    private void iterate() throws InterruptedException {
        for (TrainingSource s; (s = attaching.poll()) != null; ) {
            jobs.attach(s);
        }
        jobs.refill();
        if (!hybrid.hasWork()) {
            Request first = inbox.poll(IDLE_POLL_MS, TimeUnit.MILLISECONDS);
            if (first != null) {
                admit(first);
            }
        }
        for (Request r; (r = inbox.poll()) != null; ) {
            admit(r);
        }
        bindAdapters();
        dropCancelled();
        long start = instruments.clock().nanoTime();
        if (speculation != null) {
            speculation.startsAt(start);
        }
        CoServingPlan plan = hybrid.plan(start);
        List<Rejection> rejected = plan.inference().rejected();
        for (int i = 0; i < rejected.size(); i++) {
            reject(rejected.get(i));
        }
        if (!plan.isEmpty()) {
            execute(plan, start);
        } else if (hybrid.hasWork()) {
            // Work that cannot run yet (a sample waiting for KV blocks): wait for a request, not spin.
            Request next = inbox.poll(IDLE_POLL_MS, TimeUnit.MILLISECONDS);
            if (next != null) {
                admit(next);
            }
        }
    }

    /** Takes a request into the loop, unless it was cancelled while queued; one whose adapter is not resident waits. */
    private void admit(Request r) {
        if (r.future.isDone()) {
            metrics.outcome("cancelled");
        } else if (r.sequence.adapter() == Sequence.AWAITING_ADAPTER) {
            awaitingAdapter.add(r);
        } else {
            schedule(r);
        }
    }

    private void schedule(Request r) {
        live.put(r.sequence, r);
        scheduler.add(r.sequence);
    }

    /**
     * Asks the adapter host for a slot for each waiting request, oldest first, and schedules those that got one.
     * The host answers in waiting order; a request whose adapter cannot be loaded fails with the reason.
     */
    private void bindAdapters() {
        for (Iterator<Request> waiting = awaitingAdapter.iterator(); waiting.hasNext(); ) {
            Request r = waiting.next();
            if (r.future.isDone()) {
                waiting.remove();
                metrics.outcome("cancelled");
                continue;
            }
            int slot;
            try {
                slot = adapters.tryAcquire(r.adapter);
            } catch (RuntimeException e) {
                waiting.remove();
                fail(r, e);
                continue;
            }
            if (slot != AdapterHost.WAIT) {
                waiting.remove();
                r.sequence.bindAdapter(slot);
                schedule(r);
            }
        }
    }

    private void dropCancelled() {
        for (Request r : live.values()) {
            if (r.future.isDone()) {
                cancelled.add(r);
            }
        }
        for (int i = 0; i < cancelled.size(); i++) {
            retire(cancelled.get(i));
            metrics.outcome("cancelled");
        }
        cancelled.clear();
    }

    /**
     * Runs the plan: the forward pass (inference and a finetuning window), a backward slice or a whole sample;
     * then the clock, the latency model and the trace learn what it took, and the sampled tokens go out.
     */
    private void execute(CoServingPlan plan, long start) {
        List<ScheduledChunk> chunks = plan.inference().chunks();
        for (int i = 0; i < chunks.size(); i++) {
            live.get(chunks.get(i).sequence()).markScheduled(start);
        }
        if (!chunks.isEmpty() || plan.window() != null) {
            forward(plan);
        }
        int completed = finetune(plan);
        instruments.clock().iterationDone(plan.predictedMs());
        long end = instruments.clock().nanoTime();
        if (!failed.isEmpty()) {
            failed.forEach(this::fail);
        }
        for (int i = 0; i < sampled.size(); i++) {
            // A request that stopped on an accepted draft token emits none of the tokens after it.
            if (!failed.containsKey(sampled.request(i)) && live.containsKey(sampled.request(i).sequence)) {
                deliver(sampled.request(i), sampled.token(i), sampled.logprob(i), end);
            }
        }
        sampled.clear();
        failed.clear();
        observe(plan, start, end, completed);
    }

    /** The forward pass of the plan's chunks and window; tokens sampled go to {@link #sampled}. */
    private void forward(CoServingPlan plan) {
        List<ScheduledChunk> chunks = plan.inference().chunks();
        CoServingPlan.Window window = plan.window();
        try {
            TrainingWindow training = window == null ? null : jobs.window(window);
            var batch = batches.build(chunks, logitsWanted, trees, training,
                    window == null ? -1 : jobs.adapter(window.lane()));
            model.forward(batch, kv, onLogits);
        } catch (RuntimeException e) {
            LOG.error("forward pass failed; failing the {} requests in the batch", chunks.size(), e);
            var error = new FlexLlmException("the forward pass failed", e);
            chunks.forEach(c -> failed.put(live.get(c.sequence()), error));
            sampled.clear();
            if (window != null) {
                jobs.fail(window.lane(), error);
            }
            return;
        }
        for (int i = 0; i < chunks.size(); i++) {
            ScheduledChunk c = chunks.get(i);
            c.sequence().advance(c.count());
        }
        if (speculation != null) {
            speculation.verify(sampled, failed);
        }
        if (window != null) {
            jobs.forwarded(window);
        }
    }

    /** The plan's backward slice or whole sample; returns the tokens of samples it completed. */
    private int finetune(CoServingPlan plan) {
        var lane = plan.whole() != null ? plan.whole() : plan.slice() == null ? null : plan.slice().lane();
        if (lane == null) {
            return 0;
        }
        try {
            return plan.whole() != null ? jobs.runWhole(lane) : jobs.backward(plan.slice());
        } catch (RuntimeException e) {
            LOG.error("finetuning pass failed", e);
            jobs.fail(lane, new FlexLlmException("the finetuning pass failed: " + e.getMessage(), e));
            return 0;
        }
    }

    private void observe(CoServingPlan plan, long start, long end, int completed) {
        double measured = (end - start) / 1e6;
        latency.observe(plan.composition(), measured);
        var record = new IterationRecord(iterations++, (start - startNanos) / 1e6, plan.composition(),
                plan.predictedMs(), plan.boundMs(), measured, plan.limitMs(), completed, plan.waiting());
        metrics.iteration(record);
        if (trace != null) {
            trace.write(record);
        }
        List<Consumer<IterationRecord>> listeners = instruments.listeners();
        for (int i = 0; i < listeners.size(); i++) {
            try {
                listeners.get(i).accept(record);
            } catch (RuntimeException e) {
                LOG.warn("an iteration listener threw; ignoring", e);
            }
        }
    }

    /** Samples (or scores a prompt token) from one row of logits; a bad row fails only its own request. */
    private void onLogits(int index, float[] logits) {
        Sequence s = batches.rowSequence(index);
        int position = batches.rowPosition(index);
        if (batches.rowNode(index) >= 0) {
            speculation.logits(s, batches.rowNode(index), logits);
            return;
        }
        Request r = live.get(s);
        try {
            if (position == s.length() - 1) {
                int token = sampler.choose(logits, r.params, r.history, r.random);
                SampledToken logprob = r.params.logprobs().isPresent()
                        ? Logprobs.forToken(logits, token, r.params.logprobs().getAsInt()) : null;
                sampled.add(r, token, logprob);
            } else {
                int top = r.params.promptLogprobs().orElse(0);
                r.recordPromptLogprob(position + 1, Logprobs.forToken(logits, s.token(position + 1), top));
            }
        } catch (RuntimeException e) {
            failed.put(r, new FlexLlmException("sampling request " + s.id() + " at position " + position
                    + " failed: " + e.getMessage(), e));
        }
    }

    private void deliver(Request r, int token, SampledToken logprob, long now) {
        try {
            boolean stop = !r.params.ignoreEos() && contains(eos, token) || contains(r.stopTokenIds, token);
            FinishReason finish = r.accept(token, logprob, stop, config.maxModelLen(), now);
            if (finish != null) {
                retire(r);
                GenerationResult result = r.result(finish);
                metrics.finished(result);
                r.future.completeAsync(() -> result);
            }
        } catch (RuntimeException e) {
            LOG.error("delivering a token of request {} failed", r.sequence.id(), e);
            fail(r, new FlexLlmException("delivering the output failed: " + e.getMessage(), e));
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int candidate : ids) {
            if (candidate == id) {
                return true;
            }
        }
        return false;
    }

    private void reject(Rejection rejection) {
        fail(live.get(rejection.sequence()), new KvCacheTooSmallException(rejection.reason()));
    }

    private void fail(Request r, RuntimeException e) {
        retire(r);
        metrics.outcome("failed");
        CompletableFuture.runAsync(() -> r.future.completeExceptionally(e));
    }

    /** Takes an ended request out of the loop; the forward passes that read its adapter slot are over. */
    private void retire(Request r) {
        live.remove(r.sequence);
        scheduler.remove(r.sequence);
        r.releaseAdapter(adapters);
        if (speculation != null) {
            speculation.finished(r);
        }
    }

    private void failAll() {
        List<Request> pending = new ArrayList<>(live.values());
        pending.addAll(awaitingAdapter);
        awaitingAdapter.clear();
        inbox.drainTo(pending);
        for (Request r : pending) {
            retire(r);
            metrics.outcome("cancelled");
            RuntimeException error = closedError(r);
            CompletableFuture.runAsync(() -> r.future.completeExceptionally(error));
        }
    }

    /** Detaches every job (each writes its checkpoint), including those attached too late to start. */
    private void stopJobs() {
        Throwable cause = death == null ? new CancellationException("the engine was closed")
                : new FlexLlmException("the engine stopped after an internal error", death);
        jobs.detachAll(cause);
        for (TrainingSource s; (s = attaching.poll()) != null; ) {
            try {
                s.detached(cause);
            } catch (RuntimeException e) {
                LOG.error("finetuning job '{}' failed while detaching", s.name(), e);
            }
        }
    }

    private RuntimeException closedError(Request r) {
        String what = "request " + r.sequence.id();
        return death == null
                ? new CancellationException("the engine was closed before " + what + " finished")
                : new FlexLlmException("the engine stopped after an internal error before " + what + " finished",
                        death);
    }

    /** Whether the caller is the engine's own thread (a token listener, say), which must never block on it. */
    public boolean isEngineThread() {
        return Thread.currentThread() == thread;
    }

    /** Free KV blocks; see {@code LlmEngine.freeKvBlocks}. */
    public int freeKvBlocks() {
        return kv.blocks().free();
    }

    public int kvBlocks() {
        return kv.blocks().capacity();
    }

    public MeterRegistry meters() {
        return instruments.meters();
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

    /**
     * Stops the loop and waits for it; requests still in flight complete with a {@link CancellationException}
     * saying why. Idempotent; from the engine thread itself (a listener) it only asks the loop to stop.
     */
    @Override
    public void close() {
        closing = true;
        if (isEngineThread()) {
            return;
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
