package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchCommandTest {
    @Test
    void decodeReportsPositiveRates() {
        Cli.Result r = Cli.run("bench", "decode", "--model", "synthetic:tiny", "--batch", "2", "--gen-len", "8",
                "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertAllNumbersPositive(json);
        assertTrue(json.get("gflops").isNumber() && json.get("weight_bytes_per_token").isNumber());
        assertEquals("decode", json.get("mode").asText());
        // Each request's tokens after its first; one fewer per request that started an iteration late.
        assertTrue(json.get("tokens").asLong() <= 2 * 7);
        // tiny in BF16, the synthetic default: 118,784 matrix and 320 norm weights (the shapes the Q8_0 case below
        // counts) at 2 bytes, read once per step for both requests of the batch.
        assertEquals(238_208, json.get("weight_bytes").asLong());
        assertEquals(119_104, json.get("weight_bytes_per_token").asDouble());
    }

    @Test
    void prefillCountsEveryPromptToken() {
        Cli.Result r = Cli.run("bench", "prefill", "--model", "synthetic:tiny", "--batch", "2", "--prompt-len", "40",
                "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertAllNumbersPositive(json);
        assertEquals(80, json.get("tokens").asLong());
        assertTrue(json.get("token_budget").asInt() >= 80);
    }

    @Test
    void finetuneReportsThroughputAndThePrunedActivations() {
        Cli.Result r = Cli.run("bench", "finetune", "--model", "synthetic:tiny", "--seq-len", "32", "--lora-r", "4",
                "--targets", "all", "--steps", "2", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertAllNumbersPositive(json);
        assertEquals("PRUNED", json.get("pruning").asText());
        assertEquals(32 / (json.get("step_ms").asDouble() / 1e3), json.get("tokens_per_s").asDouble(), 1e-6);
        long pruned = json.get("activation_bytes_per_token").asLong();
        assertTrue(pruned * 5 <= json.get("activation_bytes_per_token_unpruned").asLong(), json.toString());
    }

    @Test
    void finetuneWithoutPruningKeepsTheSameReport() {
        Cli.Result r = Cli.run("bench", "finetune", "--model", "synthetic:tiny", "--seq-len", "16", "--lora-r", "4",
                "--targets", "all", "--steps", "1", "--warmup", "0", "--no-prune", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals("KEEP_ALL", json.get("pruning").asText());
        assertTrue(json.get("tokens_per_s").asDouble() > 0);
        assertTrue(json.get("activation_bytes_per_token").asLong() < json.get("activation_bytes_per_token_unpruned")
                .asLong());
    }

    @Test
    void syntheticModelsRunQuantizedAndCountTheirBytes() {
        Cli.Result r = Cli.run("bench", "decode", "--model", "synthetic:tiny", "--dtype", "q8_0", "--gen-len", "4",
                "--warmup", "0", "--repeat", "1", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals("synthetic:tiny:q8_0", json.get("model").asText());
        // tiny: 2 layers of hidden 64, kv 32, intermediate 160, a tied 512-row head; f32 norms beside Q8_0 blocks.
        long matrices = 2 * (64 * (2 * 64 + 2 * 32) + 3 * 64 * 160) + 512 * 64;
        long norms = (2 * 2 + 1) * 64;
        assertEquals(matrices / 32 * 34 + norms * 4, json.get("weight_bytes").asLong());
    }

    @Test
    void dtypeIsForSyntheticModels() {
        assertUsageError("convert", "bench", "decode", "--model", Cli.STORIES.toString(), "--dtype", "q4_0");
        assertUsageError("q3_k", "bench", "decode", "--model", "synthetic:tiny", "--dtype", "q3_k");
    }

    @Test
    void decodeNeedsTwoTokens() {
        assertUsageError("--gen-len", "bench", "decode", "--model", "synthetic:tiny", "--gen-len", "1");
    }

    /** The command line is refused (status 2) with a message that mentions {@code mentioned}. */
    private static void assertUsageError(String mentioned, String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains(mentioned), r.err());
    }

    private static void assertAllNumbersPositive(JsonNode json) {
        for (Map.Entry<String, JsonNode> field : json.properties()) {
            if (field.getValue().isNumber()) {
                assertTrue(field.getValue().asDouble() > 0, field.getKey() + " = " + field.getValue());
            }
        }
        assertTrue(json.get("tokens_per_s").isNumber());
    }
}
