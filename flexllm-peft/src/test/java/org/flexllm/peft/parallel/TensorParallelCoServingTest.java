package org.flexllm.peft.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.flexllm.api.EngineBuilder;
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
import org.flexllm.model.ModelConfig;
import org.flexllm.model.SyntheticModel;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.SavedCheckpoint;
import org.flexllm.peft.train.StepRecord;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.Policy;
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A finetuning job co-served by a tensor-parallel engine on {@code synthetic:tiny} (simulated clock, fixed latency
 * model): its windows and backward slices run on both ranks beside requests on another adapter, and it ends with the
 * adapter, losses and checkpoints of the same job on one rank; and its LoRA ops add no collective to the passes they
 * ride in, counted on the ranks' communicators.
 */
// CompletableFuture.get on the test's thread: a thread of its own can be abandoned at the deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TensorParallelCoServingTest {
    private static final String MODEL = "synthetic:tiny";
    private static final ModelConfig TINY = SyntheticModel.config("tiny");
    private static final int MAX_LEN = 32;
    /** 4 ms a pass, 0.5 ms a decode token: beside decodes under a 10 ms TPOT, the backward runs a layer at a time. */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.3).build());
    private static final Tokenizer BYTES = Tokenizer.bytes(TINY.vocabSize());

    @TempDir
    Path temp;

    private static EngineBuilder engine(int ranks, AdapterRegistry adapters) {
        return LlmEngine.builder().model(MODEL).adapters(adapters).policy(Policy.COSERVE).tokenBudget(16)
                .maxFinetuneTokens(MAX_LEN).clock(EngineClock.simulated()).latencyModel(LATENCY)
                .slo(new Slo(200, 10)).tensorParallel(ranks);
    }

    /**
     * LoRA on every projection, SGD with momentum; a checkpoint every step. Dropout on: the ranks of a row-parallel
     * projection (o, down) each hold a slice of its input, and must drop what one rank holding all of it drops.
     */
    private static FinetuneOptions.Builder options() {
        return FinetuneOptions.builder().adapter(AdapterConfig.builder().r(4).loraAlpha(8).loraDropout(0.2)
                        .targets(EnumSet.allOf(Projection.class)).build())
                .optimizer(FinetuneOptions.OptimizerKind.SGD).lr(0.5).momentum(0.9).seed(7).maxSeqLen(MAX_LEN);
    }

    private static List<TrainingExample> texts(String... texts) {
        return List.of(texts).stream().map(t -> TrainingExample.allTrained(BYTES.encode(t, true))).toList();
    }

    /** What a co-served job left: its adapter, its steps and its checkpoints (by step). */
    private record Trained(Adapter adapter, List<StepRecord> history, List<SavedCheckpoint> checkpoints) {}

    @Test
    void aJobCoServedOnTwoRanksEndsWithOneRanksAdapterLossesAndCheckpoints() throws Exception {
        FinetuneOptions options = options().gradAccum(2).steps(3).checkpointEvery(1).build();
        List<TrainingExample> data = texts("the cat sat on the mat", "a dog ran far away", "the sun is hot today");
        Trained one = coServe(1, options, data, temp.resolve("tp1"));
        Trained two = coServe(2, options, data, temp.resolve("tp2"));
        assertClose(one.adapter(), two.adapter(), "the trained adapter");
        assertEquals(3, two.history().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(one.history().get(i).loss(), two.history().get(i).loss(), 1e-5, "step " + (i + 1) + "'s loss");
        }
        try (Arena arena = Arena.ofConfined()) {
            assertClose(two.adapter(), AdapterFolder.read(temp.resolve("tp2"), TINY, arena), "the adapter on disk");
            assertEquals(3, two.checkpoints().size());
            for (int i = 0; i < 3; i++) {
                assertClose(AdapterFolder.read(one.checkpoints().get(i).adapter(), TINY, arena),
                        AdapterFolder.read(two.checkpoints().get(i).adapter(), TINY, arena), "checkpoint " + (i + 1));
            }
        }
    }

    /** The job on an engine of {@code ranks} ranks, beside six requests, half on another adapter. */
    private Trained coServe(int ranks, FinetuneOptions options, List<TrainingExample> data, Path out)
            throws Exception {
        List<IterationRecord> iterations = new CopyOnWriteArrayList<>();
        List<SavedCheckpoint> checkpoints = new CopyOnWriteArrayList<>();
        try (AdapterRegistry adapters = AdapterRegistry.create(2, 8);
             LlmEngine engine = engine(ranks, adapters).onIteration(iterations::add).build()) {
            registerOther(adapters, out.resolveSibling(out.getFileName() + "-other"));
            List<CompletableFuture<GenerationResult>> requests = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                var params = SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build();
                requests.add(engine.submit(GenerationRequest.of(Prompt.ids(new int[] {1 + i, 2 + i, 3 + i}))
                        .withParams(params).withAdapter(i % 2 == 0 ? "other" : null)));
            }
            FinetuneJob job = Finetuner.builder().data(data).options(options).output(out).coServe(engine, adapters)
                    .onCheckpoint(checkpoints::add).name("tp" + ranks).start();
            Adapter adapter = job.await().adapter();
            for (var r : requests) {
                assertEquals(40, r.get(60, TimeUnit.SECONDS).ids().size());
            }
            assertTrue(iterations.stream().anyMatch(r -> r.composition().finetuneTokens() > 0
                    && r.composition().decodeTokens() > 0), "windows rode beside decodes");
            job.close();
            List<SavedCheckpoint> byStep = new ArrayList<>(checkpoints);
            byStep.sort((a, b) -> Integer.compare(a.step(), b.step()));
            return new Trained(adapter, job.history(), byStep);
        }
    }

    /** Registers an adapter of another rank, on q_proj only, under "other". */
    private static void registerOther(AdapterRegistry adapters, Path folder) {
        AdapterConfig config = AdapterConfig.builder().r(2).loraAlpha(4).targets(EnumSet.of(Projection.Q_PROJ)).build();
        AdapterFolder.write(folder, AdapterInit.create(config, TINY, 3, Arena.ofAuto()));
        adapters.register("other", folder);
    }

    /**
     * A LoRA job on all seven projections and the same samples trained on the base model alone (no adapter slot), in
     * engines that schedule them alike: every rank runs as many collectives for the one as for the other.
     */
    @Test
    void theLoraOpsAddNoCollectiveToTheCoServedPassesTheyRideIn() throws Exception {
        List<TrainingExample> data = IntStream.range(0, 3)
                .mapToObj(i -> TrainingExample.allTrained(IntStream.range(0, 24).map(t -> 1 + (t * 7 + i * 13) % 500)
                        .toArray()))
                .toList();
        FinetuneOptions options = options().steps(3).build();
        long[] lora = collectives(served -> Finetuner.builder().data(data).options(options).output(temp.resolve("lora"))
                .coServe(served.engine(), served.adapters()).start().await());
        long[] base = collectives(served -> {
            BaseSamples samples = new BaseSamples(data);
            served.engine().attach(samples);
            assertNull(samples.detached.get(60, TimeUnit.SECONDS), "the base job finished");
        });
        assertTrue(base[0] > 0, "the passes ran collectives");
        assertArrayEquals(base, lora, "collectives by rank: the LoRA ops add none");
    }

    private record Served(LlmEngine engine, AdapterRegistry adapters) {}

    private interface Work {
        void run(Served served) throws Exception;
    }

    /** Each rank's collectives while {@code work} runs on a TP 2 engine. */
    private static long[] collectives(Work work) throws Exception {
        MeterRegistry meters = new SimpleMeterRegistry();
        try (AdapterRegistry adapters = AdapterRegistry.create(1, 4);
             LlmEngine engine = engine(2, adapters).meterRegistry(meters).build()) {
            work.run(new Served(engine, adapters));
            return IntStream.range(0, 2).mapToLong(r -> (long) meters.get("flexllm.tp.collectives")
                    .tag("rank", String.valueOf(r)).functionCounter().count()).toArray();
        }
    }

    /** The samples of a one-sample-a-step job, handed out as its steps would be, trained on no adapter. */
    private static final class BaseSamples implements TrainingSource {
        private final List<TrainingExample> data;
        private final CompletableFuture<Throwable> detached = new CompletableFuture<>();
        private int handedOut;
        private int completed;

        BaseSamples(List<TrainingExample> data) {
            this.data = data;
        }

        public String name() { return "base"; }
        public int adapterSlot() { return -1; }
        public int maxSampleTokens() { return MAX_LEN; }
        public double weight() { return 1; }
        public boolean finished() { return handedOut == data.size(); }
        public boolean stopRequested() { return false; }
        public void completed(TrainingSample sample, double loss) { completed++; }
        public void detached(Throwable cause) { detached.complete(cause); }

        public TrainingSample next() {
            if (finished() || completed < handedOut) {
                return null;
            }
            TrainingExample e = data.get(handedOut++);
            return new TrainingSample(e.inputIds(), e.labels(), 1f / e.targets(), 0);
        }
    }

    private static void assertClose(Adapter expected, Adapter actual, String what) {
        assertEquals(expected.tensors().keySet(), actual.tensors().keySet(), what);
        for (Map.Entry<String, Tensor> e : expected.tensors().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(actual.tensors().get(e.getKey())), 1e-5f,
                    what + ": " + e.getKey());
        }
    }

    private static float[] floats(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_FLOAT);
    }
}
