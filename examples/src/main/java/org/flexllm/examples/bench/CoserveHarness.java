package org.flexllm.examples.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.flexllm.api.LlmEngine;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.speculation.SpeculatorFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one co-serving benchmark: an engine under the configured policy and SLO co-serving a LoRA job (unless
 * the policy is inference-only) while requests arrive on schedule for the configured duration. A warm-up comes
 * first, untimed: a few requests and the job's first step. After the duration no more requests arrive; each one
 * still running gets until it can no longer meet its SLO and is cancelled after that; the job is cancelled; the
 * engine closes. The engine's iterations and the garbage collector's pauses during the run are recorded.
 */
public final class CoserveHarness {
    /** The job's adapter; one slot to spare. */
    private static final int ADAPTER_SLOTS = 2;
    /** Warm-up requests, all at once so that the batched kernels warm up too. */
    private static final int WARM_UP_REQUESTS = 8;
    /** A first step takes seconds on the models this runs; a minute without one means the job gets nothing. */
    private static final int FIRST_STEP_LIMIT_S = 60;
    private static final Logger LOG = LoggerFactory.getLogger(CoserveHarness.class);

    private CoserveHarness() {}

    /** Runs {@code config} in real time; takes its duration and the grace period of the last requests. */
    public static CoserveRun run(CoserveConfig config) throws InterruptedException {
        return run(config, SloMix.of(config.slo()), null);
    }

    /**
     * As {@link #run(CoserveConfig)}, each request under a latency class drawn from {@code mix} and, unless
     * {@code speculating} is null, decoding speculatively.
     */
    public static CoserveRun run(CoserveConfig config, SloMix mix, Speculating speculating)
            throws InterruptedException {
        // One stream per use, so that changing one (say, the data) leaves the others as they were.
        var seeds = new SplittableRandom(config.seed());
        SplittableRandom workload = seeds.split();
        SplittableRandom prompts = seeds.split();
        SplittableRandom data = seeds.split();
        List<Arrival> arrivals = config.arrivals(workload);
        var iterations = new IterationLog();
        var firstStep = new CompletableFuture<Void>();
        ModelShape shape = ModelShape.of(config.model());
        List<Planned> planned = RequestDriver.plan(arrivals.stream().map(a -> a.fittedTo(shape.maxModelLen()))
                .toList(), mix, shape.vocabSize(), prompts);
        List<Planned> warmUp = RequestDriver.plan(Collections.nCopies(config.servesRequests() ? WARM_UP_REQUESTS : 0,
                new Arrival(0, config.promptLen(), config.outputLen()).fittedTo(shape.maxModelLen())), mix,
                shape.vocabSize(), prompts);
        SpeculatorFactory speculation = speculating == null ? null
                : speculating.factory(speculating.needsReferences() ? References.greedy(config.model(), planned)
                        : List.of());
        var metrics = new SimpleMeterRegistry();
        try (GcPauses gc = GcPauses.listen();
             AdapterRegistry registry = AdapterRegistry.create(ADAPTER_SLOTS, config.loraR());
             ScratchFolder output = ScratchFolder.create("flexllm-bench-coserve");
             LlmEngine engine = engine(config, registry, iterations, metrics, speculation);
             FinetuneJob job = config.finetunes() ? CoservedJob.start(config, engine, registry, output.path(), data,
                     step -> firstStep.complete(null)) : null) {
            var driver = new RequestDriver(engine);
            warmUp(driver, warmUp, job, firstStep);
            SpecCounts before = SpecCounts.of(metrics);
            long allocatedBefore = GcPauses.allocatedBytes();
            long start = System.nanoTime();
            List<RequestDriver.InFlight> inFlight = driver.replay(planned, start);
            RequestDriver.sleepUntil(start + Math.round(config.durationS() * 1e9));
            List<RequestOutcome> outcomes = RequestDriver.settle(inFlight);
            long end = System.nanoTime();
            if (job != null) {
                stop(job);
            }
            // A pause is heard a little after it ended: one of the warm-up's last milliseconds may count, one
            // that delayed the last request may not have been heard yet.
            return new CoserveRun(outcomes, iterations.finetune(start, end), iterations.timings(start, end),
                    gc.between(start, end), (end - start) / 1e9, SpecCounts.of(metrics).minus(before),
                    GcPauses.allocatedBytes() - allocatedBefore);
        }
    }

    private static LlmEngine engine(CoserveConfig config, AdapterRegistry registry, IterationLog iterations,
                                    SimpleMeterRegistry metrics, SpeculatorFactory speculation) {
        var builder = LlmEngine.builder().model(config.model()).policy(config.policy()).slo(config.slo())
                .adapters(registry).maxFinetuneTokens(config.ftSeqLen()).seed(config.seed())
                .meterRegistry(metrics).onIteration(iterations);
        if (speculation != null) {
            builder.speculation(speculation);
        }
        return (config.iterationTrace() == null ? builder : builder.traceFile(config.iterationTrace())).build();
    }

    /**
     * Untimed, so that the JIT has compiled the kernels before the clock starts: requests of the mean lengths,
     * then the job's first step (the run starts anyway after a limit, and then measures how little the engine gave
     * the job).
     */
    private static void warmUp(RequestDriver driver, List<Planned> requests, FinetuneJob job,
                               CompletableFuture<Void> firstStep) throws InterruptedException {
        driver.warmUp(requests);
        if (job != null) {
            awaitFirstStep(job, firstStep);
        }
    }

    /**
     * @throws java.util.concurrent.CompletionException when the job failed
     */
    private static void awaitFirstStep(FinetuneJob job, CompletableFuture<Void> firstStep)
            throws InterruptedException {
        try {
            CompletableFuture.anyOf(firstStep, job.result()).get(FIRST_STEP_LIMIT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new CompletionException(e.getCause());
        } catch (TimeoutException e) {
            LOG.warn("the finetuning job made no step in {} s of warm-up; the run starts anyway",
                    FIRST_STEP_LIMIT_S);
        }
    }

    /** Cancels the job and waits for it; a job that failed before fails the run. */
    private static void stop(FinetuneJob job) throws InterruptedException {
        job.cancel();
        try {
            job.await();
        } catch (CancellationException e) {
            // What cancel() asked for.
        }
    }
}
