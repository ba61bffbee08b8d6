package org.flexllm.peft.serve;

import static org.flexllm.peft.serve.AdapterRegistryTest.LLAMA;
import static org.flexllm.peft.serve.AdapterRegistryTest.LORA;
import static org.flexllm.peft.serve.AdapterRegistryTest.QWEN;
import static org.flexllm.peft.serve.AdapterRegistryTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.api.ScoreResult;
import org.flexllm.api.TokenEvent;
import org.flexllm.api.TokenListener;
import org.flexllm.api.UnknownAdapterException;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Golden;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.format.AdapterMismatchException;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters served by the engine: on the golden llama-gqa model with its golden LoRA ({@code x}), a copy with B
 * scaled ({@code y}) and an IA3 adapter ({@code z}), against the golden logits and against each request alone.
 */
// CompletableFuture.join() ignores interrupts: only a test on a thread of its own can be abandoned at its deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdapterServingTest {
    private static final List<int[]> PROMPTS = prompts();
    private static final int[] GOLDEN_IDS = trainingIds(LORA);

    @TempDir
    static Path tmp;
    private static Path scaled;
    private static Path ia3;

    /** A registry and an engine on {@code model} serving it. */
    record Served(AdapterRegistry adapters, LlmEngine engine) implements AutoCloseable {
        static Served start(Path model, int maxResident) {
            AdapterRegistry adapters = AdapterRegistry.create(maxResident, 4);
            return new Served(adapters, LlmEngine.builder().model(model).maxSequences(32).adapters(adapters).build());
        }

        List<Integer> generate(int[] prompt, int tokens, String adapter) {
            return engine.generate(request(prompt, tokens, adapter)).ids();
        }

        public void close() {
            engine.close();
            adapters.close();
        }
    }

    private static List<int[]> prompts() {
        RandomGenerator random = RandomGeneratorFactory.of("L64X128MixRandom").create(11);
        return Arrays.stream(new int[] {3, 7, 12, 20, 5, 30}).mapToObj(n -> random.ints(n, 3, 256).toArray()).toList();
    }

    private static int[] trainingIds(Path adapterDir) {
        try {
            JsonNode example = new ObjectMapper().readTree(adapterDir.resolve("train_example.json").toFile());
            return example.get("input_ids").valueStream().mapToInt(JsonNode::asInt).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static GenerationRequest request(int[] prompt, int tokens, String adapter) {
        var greedy = SamplingParams.builder().temperature(0).maxTokens(tokens).ignoreEos(true).build();
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(greedy).withAdapter(adapter);
    }

    /** {@code y}: the golden LoRA with B scaled by −1.5; {@code z}: IA3 on k, v, down, vectors in [0.5, 1.5). */
    @BeforeAll
    static void writeAdapters() {
        ModelConfig model = config(LLAMA);
        RandomGenerator random = RandomGeneratorFactory.of("L64X128MixRandom").create(3);
        try (Arena arena = Arena.ofConfined()) {
            Adapter x = AdapterFolder.read(LORA, model, arena);
            x.tensors().forEach((key, t) -> {
                if (key.contains("lora_B")) {
                    mapFloats(t, v -> -1.5f * v);
                }
            });
            scaled = tmp.resolve("y");
            AdapterFolder.write(scaled, x);
            Adapter z = AdapterInit.create(AdapterConfig.builder().method(PeftMethod.IA3).build(), model, 0, arena);
            z.tensors().values().forEach(t -> mapFloats(t, v -> 0.5f + random.nextFloat()));
            ia3 = tmp.resolve("z");
            AdapterFolder.write(ia3, z);
        }
    }

    private interface FloatOp {
        float apply(float v);
    }

    private static void mapFloats(Tensor t, FloatOp op) {
        MemorySegment data = t.data();
        for (long i = 0; i < t.shape().elements(); i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT, i, op.apply(data.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        }
    }

    private static double logSoftmax(float[] row, int token) {
        double max = row[Golden.argmax(row)];
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        return row[token] - max - Math.log(sum);
    }

    /** Each scored token's log-probability against the log-softmax of the logits at the position before it. */
    private static void assertScores(float[][] logits, int[] ids, ScoreResult score) {
        for (int t = 1; t < ids.length; t++) {
            assertEquals(logSoftmax(logits[t - 1], ids[t]), score.logprobs().get(t).logprob(), 1e-4, "position " + t);
        }
    }

    @Test
    void greedyTokensOnTheAdapterAreTheArgmaxOfTheGoldenLogits() {
        float[][] withAdapter = Golden.forwardLogits(LORA, "logits");
        float[][] without = Golden.forwardLogits(LORA, "logits_without_adapter");
        try (Served s = Served.start(LLAMA, 1)) {
            s.adapters().register("x", LORA);
            List<CompletableFuture<GenerationResult>> onX = new ArrayList<>();
            List<CompletableFuture<GenerationResult>> onBase = new ArrayList<>();
            for (int t = 0; t < GOLDEN_IDS.length; t++) {
                int[] prefix = Arrays.copyOf(GOLDEN_IDS, t + 1);
                onX.add(s.engine().submit(request(prefix, 1, "x")));
                onBase.add(s.engine().submit(request(prefix, 1, null)));
            }
            List<Integer> expectedX = Arrays.stream(withAdapter).map(Golden::argmax).toList();
            List<Integer> expectedBase = Arrays.stream(without).map(Golden::argmax).toList();
            assertNotEquals(expectedBase, expectedX, "the golden adapter changes some greedy token");
            assertEquals(expectedX, onX.stream().map(f -> f.join().ids().getFirst()).toList());
            assertEquals(expectedBase, onBase.stream().map(f -> f.join().ids().getFirst()).toList());
        }
    }

    @Test
    void scoresOnTheAdapterAreTheLogSoftmaxOfTheGoldenLogits() {
        try (Served s = Served.start(LLAMA, 1)) {
            s.adapters().register("x", LORA);
            assertScores(Golden.forwardLogits(LORA, "logits"), GOLDEN_IDS, s.engine().score(GOLDEN_IDS, 2, "x"));
            assertScores(Golden.forwardLogits(LORA, "logits_without_adapter"), GOLDEN_IDS, s.engine().score(GOLDEN_IDS, 2));
        }
    }

    @Test
    void ia3ServedAmongLoraSlotsMatchesTheGraphCompiledForItAlone() {
        float[][] reference = new float[GOLDEN_IDS.length][];
        try (CpuBackend backend = new CpuBackend(); Checkpoint checkpoint = Checkpoint.load(LLAMA);
             Arena arena = Arena.ofShared()) {
            ModelConfig model = checkpoint.config();
            Adapter z = AdapterFolder.read(ia3, model, arena);
            ResidentAdapters slots = new ResidentAdapters(1, 1);
            slots.set(0, ResidentAdapters.Resident.of("z", z.config(), z.parameters(backend, arena), model));
            CompiledModel compiled = CompiledModel.compile(backend, model, checkpoint.weights(),
                    List.of(BypassPass.forAdapter(slots, z.config())), 64, 64);
            PagedKvCache kv = PagedKvCache.allocate(backend, model, 4, PagedKvCache.bytesPerToken(model) * 64);
            new TrainingRunner(compiled, kv, 64).logits(GOLDEN_IDS, 0, (i, logits) -> reference[i] = logits.clone());
        }
        try (Served s = Served.start(LLAMA, 2)) {
            s.adapters().register("x", LORA);
            s.adapters().register("z", ia3);
            assertScores(reference, GOLDEN_IDS, s.engine().score(GOLDEN_IDS, 0, "z"));
            assertNotEquals(s.engine().score(GOLDEN_IDS, 0).logprobs(),
                    s.engine().score(GOLDEN_IDS, 0, "z").logprobs());
        }
    }

    @Test
    void aBatchMixingAdaptersGivesEveryRequestWhatItGetsAlone() {
        List<String> adapters = Arrays.asList("x", "y", "z", null);
        try (Served s = Served.start(LLAMA, 3)) {
            s.adapters().register("x", LORA);
            s.adapters().register("y", scaled);
            s.adapters().register("z", ia3);
            Map<String, List<List<Integer>>> alone = new HashMap<>();
            Map<String, List<CompletableFuture<GenerationResult>>> together = new HashMap<>();
            for (String adapter : adapters) {
                alone.put(adapter, PROMPTS.stream().map(p -> s.generate(p, 10, adapter)).toList());
                together.put(adapter, new ArrayList<>());
            }
            for (int[] prompt : PROMPTS) {
                for (String adapter : adapters) {
                    together.get(adapter).add(s.engine().submit(request(prompt, 10, adapter)));
                }
            }
            for (String adapter : adapters) {
                assertEquals(alone.get(adapter), together.get(adapter).stream().map(f -> f.join().ids()).toList(),
                        "adapter " + adapter);
            }
            assertNotEquals(alone.get(null), alone.get("x"));
            assertNotEquals(alone.get("x"), alone.get("y"));
            assertNotEquals(alone.get(null), alone.get("z"));
        }
    }

    /** A listener that holds the engine thread at the request's first token until the test lets it go. */
    record Gate(CountDownLatch reached, CountDownLatch open) implements TokenListener {
        Gate() {
            this(new CountDownLatch(1), new CountDownLatch(1));
        }

        public void onToken(TokenEvent event) {
            reached.countDown();
            try {
                open.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void awaitReached() throws InterruptedException {
            assertTrue(reached.await(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void adaptersComeAndGoWhileRequestsRun() throws Exception {
        int[] prompt = PROMPTS.get(3);
        try (Served s = Served.start(LLAMA, 2)) {
            s.adapters().register("y", scaled);
            List<Integer> yAlone = s.generate(prompt, 24, "y");
            Gate gate = new Gate();
            var running = s.engine().submit(request(prompt, 24, "y").withListener(gate));
            gate.awaitReached();
            s.adapters().register("x", LORA);
            var onX = s.engine().submit(request(prompt, 24, "x"));
            s.adapters().unregister("y");
            assertThrows(UnknownAdapterException.class, () -> s.engine().submit(request(prompt, 4, "y")));
            assertTrue(s.adapters().resident().contains("y"), "a running request's adapter stays resident");
            gate.open().countDown();
            assertEquals(yAlone, running.join().ids());
            assertEquals(List.of("x"), s.adapters().resident());
            assertEquals(s.generate(prompt, 24, "x"), onX.join().ids());
            assertNotEquals(yAlone, onX.join().ids());
        }
    }

    @Test
    void oneSlotAlternatingBetweenTwoAdaptersEvictsAndStaysCorrect() throws Exception {
        int[] prompt = PROMPTS.get(2);
        Map<String, List<Integer>> reference = new HashMap<>();
        try (Served both = Served.start(LLAMA, 2)) {
            both.adapters().register("x", LORA);
            both.adapters().register("y", scaled);
            reference.put("x", both.generate(prompt, 12, "x"));
            reference.put("y", both.generate(prompt, 12, "y"));
        }
        try (Served s = Served.start(LLAMA, 1)) {
            s.adapters().register("x", LORA);
            s.adapters().register("y", scaled);
            for (String adapter : List.of("x", "y", "x", "y", "x")) {
                assertEquals(reference.get(adapter), s.generate(prompt, 12, adapter), adapter);
                assertEquals(List.of(adapter), s.adapters().resident());
            }
            Gate gate = new Gate();
            var running = s.engine().submit(request(prompt, 12, "x").withListener(gate));
            gate.awaitReached();
            // y waits in the queue for the slot x pins: nothing is refused, x is not preempted.
            var waiting = s.engine().submit(request(prompt, 12, "y"));
            assertFalse(waiting.isDone());
            gate.open().countDown();
            assertEquals(reference.get("x"), running.get(60, TimeUnit.SECONDS).ids());
            assertEquals(reference.get("y"), waiting.get(60, TimeUnit.SECONDS).ids());
        }
    }

    /**
     * Three adapters through one slot, requests submitted all at once from many threads' worth of traffic:
     * every request waits its turn and gets its adapter's own tokens; none is refused or starved.
     */
    @Test
    void requestsForNonResidentAdaptersWaitTheirTurnInsteadOfBeingRefused() throws Exception {
        int[] prompt = PROMPTS.get(1);
        List<String> adapters = List.of("x", "y", "z");
        Map<String, List<Integer>> reference = new HashMap<>();
        try (Served all = Served.start(LLAMA, 3)) {
            registerXyz(all.adapters());
            for (String adapter : adapters) {
                reference.put(adapter, all.generate(prompt, 6, adapter));
            }
        }
        try (Served s = Served.start(LLAMA, 1)) {
            registerXyz(s.adapters());
            List<String> order = new ArrayList<>();
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                // Mostly x, so that x's slot is always wanted: y and z must still get it.
                String adapter = i % 4 == 1 ? "y" : i % 4 == 3 ? "z" : "x";
                order.add(adapter);
                futures.add(s.engine().submit(request(prompt, 6, adapter)));
            }
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(reference.get(order.get(i)), futures.get(i).get(120, TimeUnit.SECONDS).ids(),
                        "request " + i + " on " + order.get(i));
            }
            for (String adapter : adapters) {
                assertEquals(0, s.adapters().pins(adapter), adapter);
            }
        }
    }

    private static void registerXyz(AdapterRegistry registry) {
        registry.register("x", LORA);
        registry.register("y", scaled);
        registry.register("z", ia3);
    }

    @Test
    void anAdapterOfAnotherModelIsRefusedAndServingGoesOn() {
        Path qwenLora = QWEN.resolve("lora");
        int[] qwenIds = trainingIds(qwenLora);
        try (Served s = Served.start(QWEN, 2)) {
            s.adapters().register("qwen", qwenLora);
            var error = assertThrows(AdapterMismatchException.class, () -> s.adapters().register("llama", LORA));
            assertTrue(error.getMessage().contains("has shape"), error.getMessage());
            assertEquals(Set.of("qwen"), s.adapters().names());
            assertScores(Golden.forwardLogits(qwenLora, "logits"), qwenIds, s.engine().score(qwenIds, 0, "qwen"));
            assertScores(Golden.forwardLogits(qwenLora, "logits_without_adapter"), qwenIds, s.engine().score(qwenIds, 0));
        }
        try (AdapterRegistry early = AdapterRegistry.create(1, 4)) {
            early.register("llama", LORA);
            assertThrows(AdapterMismatchException.class,
                    () -> LlmEngine.builder().model(QWEN).adapters(early).build());
        }
    }

    @Test
    void aCancelledRequestUnpinsItsAdapter() throws Exception {
        try (Served s = Served.start(LLAMA, 1)) {
            s.adapters().register("x", LORA);
            CountDownLatch started = new CountDownLatch(1);
            var running = s.engine().submit(request(PROMPTS.get(0), 1000, "x").withListener(e -> started.countDown()));
            assertTrue(started.await(30, TimeUnit.SECONDS));
            assertEquals(1, s.adapters().pins("x"));
            running.cancel(true);
            assertThrows(CancellationException.class, running::join);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (s.adapters().pins("x") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, s.adapters().pins("x"));
            s.adapters().unregister("x");
            assertEquals(List.of(), s.adapters().resident());
        }
    }
}
