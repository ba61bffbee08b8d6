package org.flexllm.peft.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.BypassTargets;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Golden;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters served by a tensor-parallel engine, each rank on its slices of them: on the golden llama-gqa model (4
 * heads, 2 KV heads, so TP 4 replicates each KV head on two ranks) the golden LoRA's greedy tokens are the argmax of
 * the golden logits, and requests on a LoRA, an IA3 adapter and the base model batched together get one rank's
 * tokens.
 */
// CompletableFuture.get on the test's thread: a thread of its own can be abandoned at the deadline.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TensorParallelServingTest {
    private static final Path MODEL = Golden.SHARED.resolve("golden/models/llama-gqa");
    private static final Path LORA = MODEL.resolve("lora");
    /** Fixed, so that no engine spends its start-up profiling: the tokens do not depend on the schedule. */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.05).build());

    @TempDir
    static Path tmp;
    private static Path ia3;

    /** IA3 on PEFT's defaults for Llama (k, v and down's input), its vectors away from 1 so that it changes tokens. */
    @BeforeAll
    static void writeIa3() {
        try (Arena arena = Arena.ofConfined()) {
            AdapterConfig config = AdapterConfig.builder().method(PeftMethod.IA3).build();
            Adapter z = AdapterInit.create(config, Golden.model(MODEL), 0, arena);
            z.tensors().values().forEach(t -> {
                MemorySegment data = t.data();
                for (long i = 0; i < t.shape().elements(); i++) {
                    float v = (float) (1 + 0.6 * Math.sin(0.37 * i + t.name().length()));
                    data.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                }
            });
            ia3 = tmp.resolve("z");
            AdapterFolder.write(ia3, z);
        }
    }

    private static LlmEngine engine(AdapterRegistry adapters, int ranks) {
        return LlmEngine.builder().model(MODEL).maxSequences(32).latencyModel(LATENCY).adapters(adapters)
                .tensorParallel(ranks).build();
    }

    private static GenerationRequest greedy(int[] prompt, int tokens, String adapter) {
        var params = SamplingParams.builder().temperature(0).maxTokens(tokens).ignoreEos(true).build();
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(params).withAdapter(adapter);
    }

    @Test
    void greedyTokensOnTheGoldenLoraAreTheArgmaxOfTheGoldenLogits() throws Exception {
        int[] ids = trainingIds();
        List<Integer> expected = Arrays.stream(Golden.forwardLogits(LORA, "logits")).map(Golden::argmax).toList();
        List<Integer> base = Arrays.stream(Golden.forwardLogits(LORA, "logits_without_adapter")).map(Golden::argmax)
                .toList();
        assertNotEquals(base, expected, "the golden adapter changes some greedy token");
        for (int ranks : new int[] {2, 4}) {
            try (AdapterRegistry adapters = AdapterRegistry.create(1, 4); LlmEngine engine = engine(adapters, ranks)) {
                adapters.register("x", LORA);
                List<CompletableFuture<GenerationResult>> next = new ArrayList<>();
                for (int t = 0; t < ids.length; t++) {
                    next.add(engine.submit(greedy(Arrays.copyOf(ids, t + 1), 1, "x")));
                }
                List<Integer> actual = new ArrayList<>();
                for (var f : next) {
                    actual.add(f.get(60, TimeUnit.SECONDS).ids().getFirst());
                }
                assertEquals(expected, actual, "TP " + ranks);
            }
        }
    }

    @Test
    void requestsOnALoraAnIa3AdapterAndTheBaseModelBatchedTogetherGetOneRanksTokens() throws Exception {
        List<List<Integer>> one = mixed(1);
        assertEquals(one, mixed(2), "TP 2");
        assertEquals(one, mixed(4), "TP 4");
    }

    /** Nine requests at once, three on each of x (LoRA), z (IA3) and the base model: their greedy ids. */
    private static List<List<Integer>> mixed(int ranks) throws Exception {
        try (AdapterRegistry adapters = AdapterRegistry.create(2, 4); LlmEngine engine = engine(adapters, ranks)) {
            adapters.register("x", LORA);
            adapters.register("z", ia3);
            String[] names = {"x", "z", null};
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                int[] prompt = {1, 3 + i * 37 % 250, 3 + i * 101 % 250, 3 + i * 7 % 250};
                futures.add(engine.submit(greedy(prompt, 12, names[i % 3])));
            }
            List<List<Integer>> ids = new ArrayList<>();
            for (var f : futures) {
                ids.add(f.get(60, TimeUnit.SECONDS).ids());
            }
            return ids;
        }
    }

    /** A slot holds an adapter on the ranks of one split: a registry serves engines of one split only. */
    @Test
    void aRegistryServesEnginesOfOneSplitOnly() {
        ModelConfig model = Golden.model(MODEL);
        try (AdapterRegistry adapters = AdapterRegistry.create(1, 4)) {
            adapters.passes(TensorParallelPlan.of(model, 2, BypassTargets.NONE), 0);
            adapters.passes(TensorParallelPlan.of(model, 2, BypassTargets.NONE), 1);
            var e = assertThrows(IllegalStateException.class, () -> adapters.passes(model));
            assertTrue(e.getMessage().contains("already serves an engine on 2 tensor-parallel ranks, not 1"),
                    e.getMessage());
            assertThrows(IllegalStateException.class,
                    () -> adapters.passes(TensorParallelPlan.of(model, 4, BypassTargets.NONE), 0));
        }
    }

    private static int[] trainingIds() throws IOException {
        JsonNode example = new ObjectMapper().readTree(LORA.resolve("train_example.json").toFile());
        return example.get("input_ids").valueStream().mapToInt(JsonNode::asInt).toArray();
    }
}
