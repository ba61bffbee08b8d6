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
 * random prompt ids, greedy decoding, exactly the asked number of tokens (EOS ignored), each request under the
 * latency class it drew.
 */
final class RequestDriver {
    private final LlmEngine engine;

    /** A submitted request and the time after which it can no longer meet its SLO. */
    record InFlight(Planned request, long deadlineNanos, CompletableFuture<GenerationResult> result) {}

    RequestDriver(LlmEngine engine) {
        this.engine = engine;
    }

    /**
     * Draws each arrival's prompt (ids below {@code vocabSize}) and latency class (from {@code mix}), in order.
     */
    static List<Planned> plan(List<Arrival> arrivals, SloMix mix, int vocabSize, RandomGenerator random) {
        List<Planned> planned = new ArrayList<>(arrivals.size());
        for (Arrival a : arrivals) {
            int[] ids = random.ints(a.promptLen(), 0, vocabSize).toArray();
            planned.add(new Planned(a, ids, mix.draw(random)));
        }
        return planned;
    }

    /**
     * Runs {@code requests} at once and waits for them: the JIT compiles the
     * kernels here, not in the first seconds of the measured run, whose requests would otherwise queue behind
     * interpreted iterations.
     */
    void warmUp(List<Planned> requests) {
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>(requests.size());
        for (Planned p : requests) {
            results.add(submit(p).result());
        }
        results.forEach(CompletableFuture::join);
    }

    /** Submits each request at {@code startNanos} plus its arrival time; returns when the last one is submitted. */
    List<InFlight> replay(List<Planned> requests, long startNanos) throws InterruptedException {
        List<InFlight> inFlight = new ArrayList<>(requests.size());
        for (Planned p : requests) {
            sleepUntil(startNanos + Math.round(p.arrival().timeS() * 1e9));
            inFlight.add(submit(p));
        }
        return inFlight;
    }

    private InFlight submit(Planned p) {
        Arrival a = p.arrival();
        Slo slo = p.slo();
        CompletableFuture<GenerationResult> result = engine.submit(request(p).withSlo(slo));
        // A request still running this long after its submission is too late for its TTFT plus the TPOT of every
        // token after the first.
        long deadline = System.nanoTime() + Math.round((slo.ttftMs() + (a.outputLen() - 1) * slo.tpotMs()) * 1e6);
        return new InFlight(p, deadline, result);
    }

    /** The request of {@code p}: its prompt, greedy, exactly its output length. */
    static GenerationRequest request(Planned p) {
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(p.arrival().outputLen())
                .ignoreEos(true).build();
        return GenerationRequest.of(Prompt.ids(p.prompt())).withParams(params);
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
            double arrivalS = f.request().arrival().timeS();
            outcomes.add(f.result().isCancelled() ? RequestOutcome.missed(arrivalS, f.request().slo())
                    : RequestOutcome.of(arrivalS, f.result().join()));
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
