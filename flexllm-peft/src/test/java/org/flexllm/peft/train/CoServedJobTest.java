package org.flexllm.peft.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.function.Consumer;
import org.flexllm.FlexLlmException;
import org.flexllm.api.AdapterSlotsBusyException;
import org.flexllm.api.LlmEngine;
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
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A co-served job as the engine drives it ({@link EngineStandIn}): the same training as a standalone job, its
 * slot in the engine's adapter registry, checkpoints when cancelled mid-step, a stop on a non-finite loss.
 */
class CoServedJobTest {
    private static final String MODEL = "synthetic:tiny";
    private static final int MAX_LEN = 32;
    private static final List<TrainingExample> TEXTS = examples("the cat sat on the mat", "a dog ran far away",
            "the sun is hot today");

    @TempDir
    Path temp;

    private AdapterRegistry registry;
    private MeterRegistry meters;
    private LlmEngine engine;
    private EngineStandIn standIn;

    @BeforeEach
    void engine() {
        registry = AdapterRegistry.create(2, 8);
        meters = new SimpleMeterRegistry();
        engine = LlmEngine.builder().model(MODEL).adapters(registry).meterRegistry(meters).build();
        standIn = new EngineStandIn(MODEL, registry, MAX_LEN, 5);
    }

    @AfterEach
    void close() {
        standIn.close();
        engine.close();
        registry.close();
    }

    /**
     * Two samples a step, dropout on, forward windows of 5 tokens and backward slices of one layer, in the
     * registry's second slot beside a served adapter: the adapter and the losses are the standalone job's.
     */
    @Test
    void coServedJobTrainsAsTheStandaloneJob() throws Exception {
        FinetuneOptions options = options().gradAccum(2).steps(4).build();
        Adapter standalone;
        List<StepRecord> expected;
        try (FinetuneJob job = standalone(options, temp.resolve("standalone"), r -> {}).start()) {
            standalone = job.await().adapter();
            expected = job.history();
        }
        registerOther();
        registry.release(registry.acquire("other"));
        List<Integer> slots = new ArrayList<>();
        FinetuneJob job = coServed(options, temp.resolve("co"), r -> {}).coServed(source -> {
            slots.add(source.adapterSlot());
            standIn.attach(source);
        });
        Adapter coServed = job.await().adapter();
        assertEquals(List.of(1), slots);
        assertClose(standalone, coServed);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).loss(), job.history().get(i).loss(), 1e-5, "step " + (i + 1));
        }
        try (Arena arena = Arena.ofConfined()) {
            assertClose(coServed, AdapterFolder.read(temp.resolve("co"), SyntheticModel.config("tiny"), arena));
        }
    }

    @Test
    void theJobsSlotIsPinnedWhileItTrainsAndFreedAtTheEnd() throws Exception {
        CompletableFuture<List<String>> whileTraining = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(2).build(), temp.resolve("out"),
                r -> whileTraining.complete(registry.resident())).coServed(standIn::attach);
        job.await();
        assertEquals(List.of("demo"), whileTraining.join());
        assertEquals(List.of(), registry.resident());
        registry.register("demo", temp.resolve("out"));
        registry.release(registry.acquire("demo"));
    }

    @Test
    void aJobNeedsAFreeSlot() {
        registerOther();
        AdapterRegistry.TrainingLease held = registry.train("held", options().build().adapter(),
                AdapterInit.create(options().build().adapter(), engine.config(), 1, Arena.ofAuto())
                        .parameters(Arena.ofAuto()), engine.config());
        int other = registry.acquire("other");
        var busy = assertThrows(AdapterSlotsBusyException.class,
                () -> coServed(options().build(), temp.resolve("out"), r -> {}).coServed(standIn::attach));
        assertTrue(busy.getMessage().contains("finetuning job 'demo'"), busy.getMessage());
        held.close();
        assertEquals(List.of("other"), registry.resident());
        registry.release(other);
    }

    @Test
    void metersCountStepsAndTokensAndTheLossGaugeGoesWithTheJob() throws Exception {
        FinetuneJob job = coServed(options().steps(3).build(), temp.resolve("out"), r -> {}).coServed(standIn::attach);
        job.await();
        int tokens = job.history().stream().mapToInt(StepRecord::tokens).sum();
        assertEquals(3, meters.get("flexllm.finetune.steps").tag("job", "demo").counter().count());
        assertEquals(tokens, meters.get("flexllm.finetune.tokens").tag("job", "demo").counter().count());
        assertNull(meters.find("flexllm.finetune.loss").gauge());
    }

    @Test
    void theLossGaugeShowsTheLastStep() throws Exception {
        CompletableFuture<Double> gauge = new CompletableFuture<>();
        FinetuneJob job = coServed(options().steps(2).build(), temp.resolve("out"),
                r -> gauge.complete(meters.get("flexllm.finetune.loss").tag("job", "demo").gauge().value()))
                .coServed(standIn::attach);
        job.await();
        assertEquals(job.history().getFirst().loss(), gauge.join());
    }

    /**
     * The engine drops a job mid-step (cancelled after a step and a half): it leaves the checkpoint of its last
     * step, from which a resumed job (here a standalone one) ends with the uninterrupted job's adapter.
     */
    @Test
    void detachedMidStepLeavesACheckpointToResumeFrom() throws Exception {
        FinetuneOptions options = options().gradAccum(2).steps(4).build();
        Adapter straight;
        try (FinetuneJob job = standalone(options, temp.resolve("straight"), r -> {}).start()) {
            straight = job.await().adapter();
        }
        Path out = temp.resolve("out");
        CompletableFuture<TrainingSource> attached = new CompletableFuture<>();
        FinetuneJob job = coServed(options, out, r -> {}).coServed(attached::complete);
        TrainingSource source = attached.join();
        for (int i = 0; i < 3; i++) {
            TrainingSample s = source.next();
            source.completed(s, standIn.run(source, s));
        }
        job.cancel();
        assertTrue(source.stopRequested());
        source.detached(new CancellationException("engine stopped the job"));
        assertThrows(CancellationException.class, job::await);
        assertEquals(List.of(), registry.resident());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-1")));
        assertFalse(Files.exists(out.resolve(AdapterFolder.WEIGHTS_FILE)));
        try (FinetuneJob resumed = standalone(options, out, r -> {}).resume(true).start()) {
            assertEquals(1, resumed.firstStep());
            assertClose(straight, resumed.await().adapter());
        }
    }

    @Test
    void aNextSampleWaitsForItsStepsParameters() {
        CompletableFuture<TrainingSource> attached = new CompletableFuture<>();
        FinetuneJob job = coServed(options().gradAccum(2).steps(2).build(), temp.resolve("out"), r -> {})
                .coServed(attached::complete);
        TrainingSource source = attached.join();
        TrainingSample first = source.next();
        TrainingSample second = source.next();
        assertNull(source.next());
        source.completed(first, standIn.run(source, first));
        assertNull(source.next());
        source.completed(second, standIn.run(source, second));
        assertTrue(source.next() != null && !source.finished());
        assertTrue(source.next() != null && source.finished());
        source.detached(new CancellationException());
        assertThrows(CancellationException.class, job::await);
    }

    @Test
    void aNonFiniteLossStopsTheJobAndFreesItsSlot() {
        FinetuneJob job = coServed(options().lr(1e30).steps(10).build(), temp.resolve("out"), r -> {})
                .coServed(standIn::attach);
        NanLossException e = assertThrows(NanLossException.class, job::await);
        assertTrue(e.getMessage().contains("not finite"), e.getMessage());
        int done = job.history().size();
        assertTrue(done < 10);
        assertTrue(Files.isDirectory(temp.resolve("out/checkpoint-" + done)));
        assertEquals(List.of(), registry.resident());
    }

    @Test
    void aJobTheEngineRefusesHoldsNothing() {
        IllegalArgumentException refusal = new IllegalArgumentException("samples too long");
        Finetuner finetuner = coServed(options().build(), temp.resolve("out"), r -> {});
        assertSame(refusal, assertThrows(IllegalArgumentException.class, () -> finetuner.coServed(source -> {
            throw refusal;
        })));
        assertEquals(List.of(), registry.resident());
        assertNull(meters.find("flexllm.finetune.loss").gauge());
        assertFalse(Files.exists(temp.resolve("out")));
    }

    @Test
    void aCoServedJobTakesTheEnginesModel() {
        Finetuner finetuner = coServed(options().build(), temp.resolve("out"), r -> {}).model(MODEL);
        assertThrows(FlexLlmException.class, () -> finetuner.coServed(standIn::attach));
        assertEquals(List.of(), registry.resident());
    }

    private Finetuner standalone(FinetuneOptions options, Path out, Consumer<StepRecord> listener) {
        return Finetuner.builder().model(MODEL).data(TEXTS).options(options).output(out).onStep(listener);
    }

    private Finetuner coServed(FinetuneOptions options, Path out, Consumer<StepRecord> listener) {
        return Finetuner.builder().data(TEXTS).options(options).output(out).onStep(listener).coServe(engine, registry)
                .name("demo");
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
