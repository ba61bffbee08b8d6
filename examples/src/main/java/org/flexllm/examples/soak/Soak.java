package org.flexllm.examples.soak;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.LlmEngine;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.schedule.Policy;

/**
 * A soak under faults: many client threads submit requests with random lengths, sampling, adapters (more than
 * the resident slots) and consumers (collecting, throwing, slow streams), cancel some at random moments, on a KV
 * cache small enough to preempt, while a finetuning job is co-served (its first attempt diverging to a NaN loss,
 * the second training on). Then it checks that every request ended, that no token was lost or duplicated, and
 * that KV blocks, adapter pins, memory and threads are back where they were.
 */
public final class Soak {
    /** How long the whole run may take before the requests still open count as stuck. */
    private static final long DEADLINE_S = 1800;
    private static final int LORA_RANK = 4;
    /**
     * Requests served before the start figures are taken, so that JIT, pools and the job's buffers are warm: at least
     * {@value #MIN_WARM_UP}, else a tenth of the run (a start point after a fixed 100 requests of a 1,000-request
     * soak still saw C2 compile 5 MB of code afterwards).
     */
    private static final int MIN_WARM_UP = 100;
    private static final int WARM_UP_SHARE = 10;

    private Soak() {}

    /**
     * Runs the soak. Memory and threads are measured after the co-served job has started and the first
     * warm-up requests have ended, and again once everything has ended and the job has stopped.
     *
     * @throws IllegalStateException when the JVM does not track its native memory (started without
     *                               {@code -XX:NativeMemoryTracking=summary})
     */
    public static SoakReport run(SoakConfig config) throws IOException, InterruptedException {
        NativeMemory.requireTracking();
        Path scratch = Files.createTempDirectory("flexllm-soak");
        Random random = new Random(config.seed());
        try (AdapterRegistry registry = AdapterRegistry.create(config.residentSlots(), LORA_RANK);
             LlmEngine engine = LlmEngine.builder().model(config.model()).adapters(registry).policy(Policy.COSERVE)
                     .kvCacheBytes(config.kvCacheBytes()).maxSequences(64).seed(config.seed()).build();
             ScheduledExecutorService canceller = Executors.newSingleThreadScheduledExecutor()) {
            List<String> adapters = registerAdapters(registry, engine.config(), config.adapters(), scratch);
            SoakClient client = new SoakClient(engine, adapters, config, canceller);
            Jobs jobs = config.finetune() ? Jobs.start(engine, registry, scratch) : Jobs.NONE;
            int warmUp = Math.min(config.requests(), Math.max(MIN_WARM_UP, config.requests() / WARM_UP_SHARE));
            awaitAll(client.submit(warmUp, random));
            Resources start = Resources.now();
            List<SoakOutcome> outcomes = new ArrayList<>();
            try (ExecutorService clients = Executors.newFixedThreadPool(config.threads())) {
                List<CompletableFuture<?>> all = new ArrayList<>();
                int remaining = config.requests() - warmUp;
                for (int t = 0; t < config.threads(); t++) {
                    int share = remaining / config.threads() + (t < remaining % config.threads() ? 1 : 0);
                    Random own = new Random(random.nextLong());
                    all.add(CompletableFuture.supplyAsync(() -> client.submit(share, own), clients)
                            .thenCompose(Soak::allOf));
                }
                outcomes.addAll(collect(all, client));
            }
            JobOutcomes trained = jobs.stop();
            Resources end = Resources.now();
            return SoakReport.of(config, outcomes, client.stuck(), start, end, engine.freeKvBlocks(),
                    engine.kvBlocks(), pins(registry, adapters), trained);
        } finally {
            delete(scratch);
        }
    }

    /** The outcomes once every client thread's requests ended or the deadline passed. */
    private static List<SoakOutcome> collect(List<CompletableFuture<?>> threads, SoakClient client)
            throws InterruptedException {
        try {
            CompletableFuture.allOf(threads.toArray(CompletableFuture[]::new)).get(DEADLINE_S, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            client.markOpenAsStuck();
        }
        return client.outcomes();
    }

    private static CompletableFuture<List<SoakOutcome>> allOf(List<CompletableFuture<SoakOutcome>> futures) {
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(v -> futures.stream().map(CompletableFuture::join).toList());
    }

    private static void awaitAll(List<CompletableFuture<SoakOutcome>> futures) throws InterruptedException {
        try {
            allOf(futures).get(DEADLINE_S, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("the soak's warm-up requests did not end", e);
        }
    }

    /** {@code count} LoRA adapters of random A (B is zero, as PEFT initializes it) in folders under scratch. */
    private static List<String> registerAdapters(AdapterRegistry registry, ModelConfig model, int count, Path scratch) {
        List<String> names = new ArrayList<>();
        AdapterConfig lora = AdapterConfig.builder().method(PeftMethod.LORA).r(LORA_RANK).loraAlpha(2 * LORA_RANK)
                .targets(EnumSet.of(Projection.Q_PROJ, Projection.V_PROJ)).build();
        for (int i = 0; i < count; i++) {
            String name = "soak-" + i;
            Path folder = scratch.resolve(name);
            try (Arena arena = Arena.ofConfined()) {
                AdapterFolder.write(folder, AdapterInit.create(lora, model, i, arena));
            }
            registry.register(name, folder);
            names.add(name);
        }
        return names;
    }

    private static int pins(AdapterRegistry registry, List<String> adapters) {
        return adapters.stream().mapToInt(registry::pins).sum();
    }

    private static void delete(Path folder) throws IOException {
        try (var paths = Files.walk(folder)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The co-served finetuning: a job that diverges (NaN), then one that trains until the soak ends. */
    private record Jobs(FinetuneJob diverging, FinetuneJob training) {
        static final Jobs NONE = new Jobs(null, null);

        static Jobs start(LlmEngine engine, AdapterRegistry registry, Path scratch) {
            List<TrainingExample> data = trainingData(engine.config().vocabSize());
            FinetuneJob diverging = job(engine, registry, data, 1e30, 20, scratch.resolve("nan-job"), "nan-job");
            diverging.result().handle((r, e) -> null).join();
            FinetuneJob training = job(engine, registry, data, 1e-3, 1_000_000, scratch.resolve("job"), "job");
            return new Jobs(diverging, training);
        }

        private static FinetuneJob job(LlmEngine engine, AdapterRegistry registry, List<TrainingExample> data,
                                       double lr, int steps, Path out, String name) {
            AdapterConfig lora = AdapterConfig.builder().method(PeftMethod.LORA).r(LORA_RANK).loraAlpha(LORA_RANK)
                    .targets(EnumSet.allOf(Projection.class)).build();
            FinetuneOptions options = FinetuneOptions.builder().adapter(lora).lr(lr).steps(steps).maxSeqLen(64)
                    .checkpointEvery(0).build();
            return Finetuner.builder().data(data).options(options).output(out).coServe(engine, registry).name(name)
                    .start();
        }

        /** Sequences of a repeating pattern: a loss that falls, on any vocabulary. */
        private static List<TrainingExample> trainingData(int vocab) {
            List<TrainingExample> data = new ArrayList<>();
            for (int s = 0; s < 8; s++) {
                int[] ids = new int[48];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 1 + (s + i % 6) % (vocab - 1);
                }
                data.add(new TrainingExample(ids, ids.clone()));
            }
            return data;
        }

        JobOutcomes stop() throws InterruptedException {
            if (training == null) {
                return JobOutcomes.NONE;
            }
            training.cancel();
            training.close();
            diverging.close();
            return new JobOutcomes(JobOutcomes.describe(diverging), training.history().size(),
                    training.history().isEmpty() ? Double.NaN : training.history().getFirst().loss(),
                    training.history().isEmpty() ? Double.NaN : training.history().getLast().loss());
        }
    }
}
