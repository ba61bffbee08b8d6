package org.flexllm.examples.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import org.flexllm.api.LlmEngine;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;

/**
 * Runs one co-serving benchmark: an engine under the configured policy and SLO co-serving a LoRA job (unless
 * the policy is inference-only) while requests arrive on schedule for the configured duration. A warm-up comes
 * first, untimed: a few requests and the job's first step. After the duration no more requests arrive; each one
 * still running gets until it can no longer meet its SLO and is cancelled after that; the job is cancelled; the
 * engine closes.
 */
public final class CoserveHarness {
    /** The job's adapter; one slot to spare. */
    private static final int ADAPTER_SLOTS = 2;
    /** Requests of the mean lengths run before the clock starts, all at once so that batched kernels warm up too. */
    private static final int WARM_UP_REQUESTS = 8;

    private CoserveHarness() {}

    /** Runs {@code config} in real time; takes its duration and the grace period of the last requests. */
    public static CoserveRun run(CoserveConfig config) throws InterruptedException {
        // One stream per use, so that changing one (say, the data) leaves the others as they were.
        var seeds = new SplittableRandom(config.seed());
        SplittableRandom workload = seeds.split();
        SplittableRandom prompts = seeds.split();
        SplittableRandom data = seeds.split();
        List<Arrival> arrivals = config.arrivals(workload);
        var iterations = new IterationLog();
        var firstStep = new CompletableFuture<Void>();
        try (AdapterRegistry registry = AdapterRegistry.create(ADAPTER_SLOTS, config.loraR());
             ScratchFolder output = ScratchFolder.create("flexllm-bench-coserve");
             LlmEngine engine = engine(config, registry, iterations);
             FinetuneJob job = config.finetunes() ? CoservedJob.start(config, engine, registry, output.path(), data,
                     step -> firstStep.complete(null)) : null) {
            int room = engine.maxModelLen();
            var driver = new RequestDriver(engine, config.slo(), prompts);
            if (config.servesRequests()) {
                driver.warmUp(new Arrival(0, config.promptLen(), config.outputLen()).fittedTo(room),
                        WARM_UP_REQUESTS);
            }
            if (job != null) {
                // The job's kernels warm up too: the clock starts after its first step (or its failure).
                CompletableFuture.anyOf(firstStep, job.result()).join();
            }
            long start = System.nanoTime();
            List<RequestDriver.InFlight> inFlight = driver.replay(arrivals.stream().map(a -> a.fittedTo(room))
                    .toList(), start);
            RequestDriver.sleepUntil(start + Math.round(config.durationS() * 1e9));
            List<RequestOutcome> outcomes = RequestDriver.settle(inFlight);
            long end = System.nanoTime();
            if (job != null) {
                stop(job);
            }
            return new CoserveRun(outcomes, iterations.between(start, end), (end - start) / 1e9);
        }
    }

    private static LlmEngine engine(CoserveConfig config, AdapterRegistry registry, IterationLog iterations) {
        return LlmEngine.builder().model(config.model()).policy(config.policy()).slo(config.slo())
                .adapters(registry).maxFinetuneTokens(config.ftSeqLen()).seed(config.seed())
                .meterRegistry(new SimpleMeterRegistry()).onIteration(iterations).build();
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
