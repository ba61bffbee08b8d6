package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.sampling.SamplingParams;

/**
 * Submits a workload's requests to an engine at their arrival times, in real time, and settles them at the end:
 * random prompt ids, greedy decoding, exactly the asked number of tokens (EOS ignored), the engine's default SLO.
 */
final class RequestDriver {
    private final LlmEngine engine;
    private final Slo slo;
    private final RandomGenerator random;

    /** A submitted request and the time after which it can no longer meet its SLO. */
    record InFlight(Arrival arrival, long deadlineNanos, CompletableFuture<GenerationResult> result) {}

    /**
     * @param slo    the engine's default targets, which the requests run under
     * @param random draws the prompts' ids
     */
    RequestDriver(LlmEngine engine, Slo slo, RandomGenerator random) {
        this.engine = engine;
        this.slo = slo;
        this.random = random;
    }

    /**
     * Runs {@code count} requests of {@code shape}'s lengths at once and waits for them: the JIT compiles the
     * kernels here, not in the first seconds of the measured run, whose requests would otherwise queue behind
     * interpreted iterations.
     */
    void warmUp(Arrival shape, int count) {
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            results.add(submit(shape).result());
        }
        results.forEach(CompletableFuture::join);
    }

    /** Submits each arrival at {@code startNanos} plus its time; returns when the last one is submitted. */
    List<InFlight> replay(List<Arrival> arrivals, long startNanos) throws InterruptedException {
        List<InFlight> inFlight = new ArrayList<>(arrivals.size());
        for (Arrival a : arrivals) {
            sleepUntil(startNanos + Math.round(a.timeS() * 1e9));
            inFlight.add(submit(a));
        }
        return inFlight;
    }

    private InFlight submit(Arrival a) {
        int[] ids = random.ints(a.promptLen(), 0, engine.config().vocabSize()).toArray();
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(a.outputLen()).ignoreEos(true)
                .build();
        CompletableFuture<GenerationResult> result = engine.submit(new GenerationRequest(Prompt.ids(ids), params,
                null));
        // A request still running this long after its submission is too late for its TTFT plus the TPOT of every
        // token after the first.
        long deadline = System.nanoTime() + Math.round((slo.ttftMs() + (a.outputLen() - 1) * slo.tpotMs()) * 1e6);
        return new InFlight(a, deadline, result);
    }

    /**
     * Waits for each request until it completes or can no longer meet its SLO, when it is cancelled and counted
     * as not completed: waiting longer would change no attainment.
     *
     * @throws java.util.concurrent.CompletionException when a request failed
     */
    static List<RequestOutcome> settle(List<InFlight> inFlight) throws InterruptedException {
        List<RequestOutcome> outcomes = new ArrayList<>(inFlight.size());
        for (InFlight f : inFlight) {
            await(f);
            outcomes.add(f.result().isCancelled() ? RequestOutcome.missed(f.arrival().timeS())
                    : RequestOutcome.of(f.arrival().timeS(), f.result().join()));
        }
        return outcomes;
    }

    private static void await(InFlight f) throws InterruptedException {
        try {
            f.result().get(Math.max(0, f.deadlineNanos() - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.result().cancel(true);
        } catch (ExecutionException | CancellationException e) {
            // Done either way: settle reports a failure by rethrowing it and a cancellation as a miss.
        }
    }

    static void sleepUntil(long nanoTime) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(nanoTime - System.nanoTime());
    }
}
