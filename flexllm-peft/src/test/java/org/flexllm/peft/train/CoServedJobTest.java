package org.flexllm.peft.train;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.flexllm.FlexLlmException;
import org.flexllm.api.AdapterSlotsBusyException;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.engine.EngineClock;
import org.flexllm.engine.IterationRecord;
import org.flexllm.engine.TrainingSample;
import org.flexllm.engine.TrainingSource;
import org.flexllm.graph.Projection;
import org.flexllm.model.SyntheticModel;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.Composition;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.Policy;
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Co-served jobs in a co-serving engine on {@code synthetic:tiny} with a simulated clock and a fixed latency
 * model: the same training as a standalone job though its samples run in windows beside requests, its slot in
 * the engine's adapter registry, meters, checkpoints when cancelled, closed or stopped by a non-finite loss; and,
 * playing the engine call by call, the order in which a job hands out samples and a detach in mid-step.
 */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CoServedJobTest {
    private static final String MODEL = "synthetic:tiny";
    /** The longest sample; the texts are 19 to 23 tokens, more than a forward window of the token budget. */
    private static final int MAX_LEN = 32;
    private static final int TOKEN_BUDGET = 16;
    /**
     * 4 ms a pass, 0.5 ms a decode token, 0.05 ms a prefill or finetuning token, 0.3 ms a backward layer-token:
     * beside six decodes (7 ms) under a 10 ms TPOT, a sample's backward (some 12 ms) runs a layer at a time.
     */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.3).build());
    private static final List<TrainingExample> TEXTS = examples("the cat sat on the mat", "a dog ran far away",
            "the sun is hot today");

    @TempDir
    Path temp;

    private final List<IterationRecord> iterations = new CopyOnWriteArrayList<>();
    private AdapterRegistry registry;
    private MeterRegistry meters;
    private LlmEngine engine;

    @BeforeEach
    void engine() {
        registry = AdapterRegistry.create(2, 8);
        meters = new SimpleMeterRegistry();
        engine = engine(LATENCY);
    }

    private LlmEngine engine(LinearLatencyModel latency) {
        return LlmEngine.builder().model(MODEL).adapters(registry).policy(Policy.COSERVE).tokenBudget(TOKEN_BUDGET)
                .maxFinetuneTokens(MAX_LEN).clock(EngineClock.simulated()).latencyModel(latency)
                .slo(new Slo(200, 10)).meterRegistry(meters).onIteration(iterations::add).build();
    }

    /** How the latency model makes the engine cut the job's backward beside the decodes. */
    private enum Slices {
        /** {@link #LATENCY}: one of the two layers at a time. */
        LAYERS(LATENCY, c -> c.backwardLayers() == 1),
        /**
         * 1 ms a backward layer-token: one layer of a sample (19 to 23 ms) never fits the 10 ms TPOT, and runs in
         * chunks of its rows.
         */
        ROW_CHUNKS(LinearLatencyModel.fixed(Coefficients.builder().iteration(4).decodeToken(0.5).prefillToken(0.05)
                .finetuneToken(0.05).backwardLayerToken(1).build()),
                c -> c.backwardLayers() == 1 && c.backwardLayerTokens() < 19);

        final LinearLatencyModel latency;
        final Predicate<Composition> slice;

        Slices(LinearLatencyModel latency, Predicate<Composition> slice) {
            this.latency = latency;
            this.slice = slice;
        }
    }

    @AfterEach
    void close() {
        engine.close();
        registry.close();
    }

    /**
     * Two samples a step, dropout on, forward windows and backward slices of one layer (or of a chunk of its rows)
     * beside decodes of requests on another adapter, in the registry's second slot: the adapter and the losses are
     * those of the standalone job, which runs each sample in one window and its backward over all layers at once.
     */
    @ParameterizedTest
    @EnumSource(Slices.class)
    void aJobTrainedInWindowsBesideRequestsEndsWithTheStandaloneAdapter(Slices slices) throws Exception {
        engine.close();
        engine = engine(slices.latency);
        FinetuneOptions options = options().gradAccum(2).steps(4).build();
        Adapter standalone;
        List<StepRecord> expected;
        try (FinetuneJob job = standalone(options, temp.resolve("standalone")).start()) {
            standalone = job.await().adapter();
            expected = job.history();
        }
        registerOther();
        List<CompletableFuture<GenerationResult>> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(engine.submit(request(i, 40).withAdapter(i % 2 == 0 ? "other" : null)));
        }
        // The engine thread loads a request's adapter; once it is in the first slot, the job gets the second.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!registry.resident().contains("other") && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        CompletableFuture<List<String>> resident = new CompletableFuture<>();
        FinetuneJob job = coServed(options, temp.resolve("co"), r -> resident.complete(registry.resident())).start();
        Adapter coServed = job.await().adapter();
        for (var r : requests) {
            assertEquals(40, r.get(60, TimeUnit.SECONDS).ids().size());
        }
        assertEquals(List.of("other", "demo"), resident.join(), "the job trains in the second slot");
        assertTrue(iterations.stream().anyMatch(r -> r.composition().finetuneTokens() > 0
                && r.composition().decodeTokens() > 0), "windows rode beside decodes");
        assertTrue(iterations.stream().anyMatch(r -> slices.slice.test(r.composition())
                && r.composition().decodeTokens() > 0), "backward slices (" + slices + ") ran beside decodes");
        assertClose(standalone, coServed);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).loss(), job.history().get(i).loss(), 1e-5, "step " + (i + 1));
        }
        try (Arena arena = Arena.ofConfined()) {
            assertClose(coServed, AdapterFolder.read(temp.resolve("co"), SyntheticModel.config("tiny"), arena));
        }
    }

    @Test
    void theJobsSlotIsPinnedWhileItTrainsAndTheTrainedAdapterServesAfterwards() throws Exception {
        CompletableFuture<List<String>> whileTraining = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(2).build(), temp.resolve("out"),
                r -> whileTraining.complete(registry.resident())).start();
        job.await();
        assertEquals(List.of("demo"), whileTraining.join());
        assertEquals(List.of(), registry.resident());
        registry.register("demo", temp.resolve("out"));
        assertEquals(5, engine.submit(request(0, 5).withAdapter("demo")).get(60, TimeUnit.SECONDS).ids().size());
    }

    @Test
    void aJobNeedsAFreeSlot() {
        registerOther();
        AdapterConfig config = options().build().adapter();
        AdapterRegistry.TrainingLease held = registry.train("held", config,
                AdapterInit.create(config, engine.config(), 1, Arena.ofAuto()).parameters(engine.computeBackend(), Arena.ofAuto()),
                engine.config());
        int other = registry.tryAcquire("other");
        var busy = assertThrows(AdapterSlotsBusyException.class,
                () -> coServed(options().build(), temp.resolve("out"), r -> {}).start());
        assertTrue(busy.getMessage().contains("finetuning job 'demo'"), busy.getMessage());
        held.close();
        assertEquals(List.of("other"), registry.resident());
        registry.release(other);
    }

    @Test
    void metersCountStepsAndTokensAndTheLossGaugeGoesWithTheJob() throws Exception {
        CompletableFuture<Double> gauge = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(3).build(), temp.resolve("out"),
                r -> gauge.complete(meters.get("flexllm.finetune.loss").tag("job", "demo").gauge().value())).start();
        job.await();
        assertEquals(job.history().getFirst().loss(), gauge.join());
        int tokens = job.history().stream().mapToInt(StepRecord::tokens).sum();
        assertEquals(3, meters.get("flexllm.finetune.steps").tag("job", "demo").counter().count());
        assertEquals(tokens, meters.get("flexllm.finetune.tokens").tag("job", "demo").counter().count());
        assertEquals(tokens, iterations.stream().mapToInt(IterationRecord::finetuneCompleted).sum());
        assertNull(meters.find("flexllm.finetune.loss").gauge());
    }

    /** Cancelled after step 2 and resumed on the same engine: the uninterrupted job's adapter. */
    @Test
    void aCancelledJobResumesFromItsCheckpoint() throws Exception {
        FinetuneOptions options = options().steps(5).build();
        Adapter straight;
        try (FinetuneJob job = standalone(options, temp.resolve("straight")).start()) {
            straight = job.await().adapter();
        }
        Path out = temp.resolve("out");
        CompletableFuture<FinetuneJob> self = new CompletableFuture<>();
        FinetuneJob cancelled = coServed(options, out, r -> {
            if (r.step() == 2) {
                self.join().cancel();
            }
        }).start();
        self.complete(cancelled);
        assertThrows(CancellationException.class, cancelled::await);
        assertEquals(2, cancelled.history().size());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-2")));
        assertEquals(List.of(), registry.resident());
        FinetuneJob resumed = coServed(options, out, r -> {}).resume(true).start();
        assertEquals(2, resumed.firstStep());
        assertClose(straight, resumed.await().adapter());
        assertEquals(5, resumed.history().size());
    }

    @Test
    void closingTheEngineEndsTheJobWithACheckpoint() throws Exception {
        CompletableFuture<Void> stepped = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(1000).build(), temp.resolve("out"), r -> stepped.complete(null))
                .start();
        stepped.get(60, TimeUnit.SECONDS);
        engine.close();
        assertThrows(CancellationException.class, job::await);
        int done = job.history().size();
        assertTrue(done > 0 && done < 1000, "steps done: " + done);
        assertTrue(Files.isDirectory(temp.resolve("out/checkpoint-" + done)));
        assertEquals(List.of(), registry.resident());
        job.close();
    }

    @Test
    void closingTheJobCancelsItAndWaitsForItsCheckpoint() throws Exception {
        CompletableFuture<Void> stepped = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(1000).build(), temp.resolve("out"), r -> stepped.complete(null))
                .start();
        stepped.get(60, TimeUnit.SECONDS);
        job.close();
        assertTrue(job.isDone());
        assertTrue(Files.isDirectory(temp.resolve("out/checkpoint-" + job.history().size())));
        assertEquals(List.of(), registry.resident());
    }

    @Test
    void aNonFiniteLossStopsTheJobAndServingGoesOn() throws Exception {
        FinetuneJob job = coServed(options().lr(1e30).steps(10).build(), temp.resolve("out"), r -> {}).start();
        NanLossException e = assertThrows(NanLossException.class, job::await);
        assertTrue(e.getMessage().contains("not finite"), e.getMessage());
        int done = job.history().size();
        assertTrue(done < 10);
        assertTrue(Files.isDirectory(temp.resolve("out/checkpoint-" + done)));
        assertFalse(Files.exists(temp.resolve("out").resolve(AdapterFolder.WEIGHTS_FILE)));
        assertEquals(List.of(), registry.resident());
        assertEquals(5, engine.submit(request(0, 5)).get(60, TimeUnit.SECONDS).ids().size());
    }

    @Test
    void aJobTheEngineRefusesHoldsNothing() {
        Finetuner tooLong = coServed(options().maxSeqLen(MAX_LEN + 1).build(), temp.resolve("out"), r -> {});
        var e = assertThrows(IllegalArgumentException.class, tooLong::start);
        assertTrue(e.getMessage().contains("maxFinetuneTokens"), e.getMessage());
        assertEquals(List.of(), registry.resident());
        assertNull(meters.find("flexllm.finetune.loss").gauge());
        assertFalse(Files.exists(temp.resolve("out")));
    }

    @Test
    void aCoServedJobTakesTheEnginesModel() {
        Finetuner withModel = coServed(options().build(), temp.resolve("out"), r -> {}).model(MODEL);
        assertThrows(FlexLlmException.class, withModel::start);
        assertEquals(List.of(), registry.resident());
    }

    /** Playing the engine: a step's samples may run together, the next step's wait for them. */
    @Test
    void aNextSampleWaitsForItsStepsParameters() throws Exception {
        CompletableFuture<TrainingSource> attached = new CompletableFuture<>();
        FinetuneJob job = coServed(options().gradAccum(2).steps(2).build(), temp.resolve("out"), r -> {})
                .coServed(attached::complete);
        TrainingSource source = attached.join();
        try (ServedRunner runner = new ServedRunner(MODEL, registry, MAX_LEN)) {
            TrainingSample first = source.next();
            TrainingSample second = source.next();
            assertNull(source.next());
            source.completed(first, runner.run(source, first));
            assertNull(source.next());
            source.completed(second, runner.run(source, second));
            assertNotNull(source.next());
            assertFalse(source.finished());
            assertNotNull(source.next());
            assertTrue(source.finished());
            assertNull(source.next());
        }
        source.detached(new CancellationException());
        assertThrows(CancellationException.class, job::await);
    }

    /**
     * Playing the engine: dropped a step and a half in, the job leaves the checkpoint of its last step, from
     * which a resumed job (here a standalone one) ends with the uninterrupted job's adapter.
     */
    @Test
    void detachedMidStepLeavesTheCheckpointOfItsLastStep() throws Exception {
        FinetuneOptions options = options().gradAccum(2).steps(4).build();
        Adapter straight;
        try (FinetuneJob job = standalone(options, temp.resolve("straight")).start()) {
            straight = job.await().adapter();
        }
        Path out = temp.resolve("out");
        CompletableFuture<TrainingSource> attached = new CompletableFuture<>();
        FinetuneJob job = coServed(options, out, r -> {}).coServed(attached::complete);
        TrainingSource source = attached.join();
        try (ServedRunner runner = new ServedRunner(MODEL, registry, MAX_LEN)) {
            for (int i = 0; i < 3; i++) {
                TrainingSample s = source.next();
                source.completed(s, runner.run(source, s));
            }
        }
        job.cancel();
        assertTrue(source.stopRequested());
        source.detached(new CancellationException("the engine dropped the job"));
        assertThrows(CancellationException.class, job::await);
        assertEquals(List.of(), registry.resident());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-1")));
        assertFalse(Files.exists(out.resolve(AdapterFolder.WEIGHTS_FILE)));
        try (FinetuneJob resumed = standalone(options, out).resume(true).start()) {
            assertEquals(1, resumed.firstStep());
            assertClose(straight, resumed.await().adapter());
        }
    }

    private static Finetuner standalone(FinetuneOptions options, Path out) {
        return Finetuner.builder().model(MODEL).data(TEXTS).options(options).output(out);
    }

    private Finetuner coServed(FinetuneOptions options, Path out, Consumer<StepRecord> listener) {
        return Finetuner.builder().data(TEXTS).options(options).output(out).onStep(listener).coServe(engine, registry)
                .name("demo");
    }

    private static GenerationRequest request(int i, int tokens) {
        return GenerationRequest.of(Prompt.ids(new int[] {1 + i, 2 + i, 3 + i})).withParams(SamplingParams.builder()
                .temperature(0).maxTokens(tokens).ignoreEos(true).build());
    }

    /** Registers an adapter of another rank under "other". */
    private void registerOther() {
        AdapterConfig config = AdapterConfig.builder().r(2).loraAlpha(4).targets(EnumSet.of(Projection.Q_PROJ)).build();
        Path folder = temp.resolve("other");
        AdapterFolder.write(folder, AdapterInit.create(config, engine.config(), 3, Arena.ofAuto()));
        registry.register("other", folder);
    }

    /**
     * SGD with momentum: AdamW would blow the last bits that depend on what the JIT compiled when (see
     * FinetuneJobTest) up in its tiniest gradients, past what comparisons to 1e-5 allow.
     */
    private static FinetuneOptions.Builder options() {
        return FinetuneOptions.builder().adapter(AdapterConfig.builder().r(4).loraAlpha(8).loraDropout(0.1)
                        .targets(EnumSet.allOf(Projection.class)).build())
                .optimizer(FinetuneOptions.OptimizerKind.SGD).lr(0.5).momentum(0.9).seed(7).maxSeqLen(MAX_LEN);
    }

    private static List<TrainingExample> examples(String... texts) {
        Tokenizer bytes = Tokenizer.bytes(SyntheticModel.config("tiny").vocabSize());
        return List.of(texts).stream().map(t -> TrainingExample.allTrained(bytes.encode(t, true))).toList();
    }

    private static void assertClose(Adapter expected, Adapter actual) {
        assertEquals(expected.tensors().keySet(), actual.tensors().keySet());
        for (Map.Entry<String, Tensor> e : expected.tensors().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(actual.tensors().get(e.getKey())), 1e-5f, e.getKey());
        }
    }

    private static float[] floats(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_FLOAT);
    }
}
