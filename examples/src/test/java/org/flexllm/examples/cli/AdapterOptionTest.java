package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** {@code --adapter DIR} on generate and score, with the golden llama-gqa model and its golden LoRA. */
class AdapterOptionTest {
    private static final Path MODEL = Cli.SHARED.resolve("golden/models/llama-gqa");
    private static final Path LORA = MODEL.resolve("lora");
    private static final List<Integer> IDS = Cli.ints(Cli.json(LORA.resolve("train_example.json")).get("input_ids"));

    /** Greedy ids through the API, on the golden LoRA or (null) the base model. */
    private static List<Integer> viaApi(Path adapter, int tokens) {
        var params = SamplingParams.builder().temperature(0).maxTokens(tokens).ignoreEos(true).build();
        var request = GenerationRequest.of(Prompt.ids(IDS.stream().mapToInt(i -> i).toArray())).withParams(params);
        try (AdapterRegistry adapters = AdapterRegistry.create(1, 4);
             LlmEngine engine = LlmEngine.builder().model(MODEL).adapters(adapters).build()) {
            if (adapter != null) {
                adapters.register("golden", adapter);
            }
            return engine.generate(request.withAdapter(adapter == null ? null : "golden")).ids();
        }
    }

    /**
     * The token that PEFT's forward pass (the golden logits, {@code tensor} with or without the adapter) ranks first
     * after the whole example: an expected first token that does not come from our engine (margins 0.21 and 0.23).
     */
    private static int peftsNextToken(String tensor) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor logits = goldenLogits(tensor, arena);
            int vocab = (int) logits.shape().dim(1);
            long last = (long) (IDS.size() - 1) * vocab;
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                best = logits.getFloat(last + v) > logits.getFloat(last + best) ? v : best;
            }
            return best;
        }
    }

    private static Tensor goldenLogits(String tensor, Arena arena) {
        return SafetensorsFile.open(LORA.resolve("forward.safetensors"), arena).get(tensor).orElseThrow();
    }

    @Test
    void generateRunsOnTheAdapter() {
        List<Integer> expected = viaApi(LORA, 8);
        List<Integer> base = viaApi(null, 8);
        assertEquals(peftsNextToken("logits"), expected.getFirst(), "PEFT's first token with the adapter");
        assertEquals(peftsNextToken("logits_without_adapter"), base.getFirst(), "PEFT's first token without it");
        assertNotEquals(base, expected, "the adapter changes the greedy continuation");
        Cli.Result r = Cli.run("generate", "--model", MODEL.toString(), "--adapter", LORA.toString(),
                "--prompt-ids", Cli.csv(IDS), "--max-tokens", "8", "--temperature", "0", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode ids = r.json().get("ids");
        if (ids.size() < expected.size()) {
            expected = expected.subList(0, ids.size());
        }
        assertEquals(expected, Cli.ints(ids));
    }

    @Test
    void scoreOnTheAdapterIsTheLogSoftmaxOfTheGoldenLogits() {
        Cli.Result r = Cli.run("score", "--model", MODEL.toString(), "--adapter", LORA.toString(),
                "--ids", Cli.csv(IDS), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode logprobs = r.json().get("logprobs");
        try (Arena arena = Arena.ofConfined()) {
            Tensor logits = goldenLogits("logits", arena);
            int vocab = (int) logits.shape().dim(1);
            for (int t = 1; t < IDS.size(); t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < vocab; v++) {
                    max = Math.max(max, logits.getFloat((long) (t - 1) * vocab + v));
                }
                double sum = 0;
                for (int v = 0; v < vocab; v++) {
                    sum += Math.exp(logits.getFloat((long) (t - 1) * vocab + v) - max);
                }
                double expected = logits.getFloat((long) (t - 1) * vocab + IDS.get(t)) - max - Math.log(sum);
                assertEquals(expected, logprobs.get(t).asDouble(), 1e-4, "position " + t);
            }
        }
    }

    @Test
    void anAdapterOfAnotherModelFailsWithTheMismatch() {
        Cli.Result r = Cli.run("score", "--model", Cli.SHARED.resolve("golden/models/qwen2-bias-tied").toString(),
                "--adapter", LORA.toString(), "--ids", "1,2,3");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("adapter_model.safetensors") && r.err().contains("has shape"), r.err());
    }
}
