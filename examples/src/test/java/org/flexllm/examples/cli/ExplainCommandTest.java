package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** {@code flexllm explain}: the plan as JSON, with an adapter, and an impossible split; {@code --tp} on the engine commands. */
class ExplainCommandTest {
    @Test
    void jsonListsEveryLayerAndCountsBaseAndBypassCollectives() {
        String model = Cli.SHARED.resolve("golden/models/llama-gqa").toString();
        Cli.Result r = Cli.run("explain", "--model", model, "--adapter", model + "/lora", "--tp", "2", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode plan = Cli.parse(r.out());
        assertEquals(2, plan.get("layers").size());
        JsonNode layer = plan.get("layers").get(0);
        assertEquals("partial_sum", layer.get("values").get("o_proj.partial").get("sharding").asText());
        JsonNode first = layer.get("collectives").get(0);
        assertEquals("all_reduce", first.get("op").asText());
        assertEquals("o_proj", first.get("after").asText());
        assertEquals(64 * 4, first.get("bytes_per_token").asInt());
        assertEquals("base", first.get("kind").asText());
        assertEquals(2, plan.get("forward_collectives_per_layer").get("base").asInt());
        assertEquals(0, plan.get("forward_collectives_per_layer").get("bypass").asInt());
        assertEquals(2, plan.get("backward_collectives_per_layer").get("base").asInt());
        assertEquals(7, plan.get("backward_collectives_per_layer").get("bypass").asInt());
    }

    @Test
    void moreRanksThanHeadsIsAnError() {
        Cli.Result r = Cli.run("explain", "--model", "synthetic:tiny", "--tp", "64");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("attention heads"), r.err());
    }

    @Test
    void generateOnTwoRanksGivesOneRanksGreedyTokens() {
        String[] args = {"generate", "--model", Cli.STORIES.toString(), "--prompt", "Once upon a time", "--max-tokens",
            "16", "--temperature", "0", "--json", "--tp"};
        Cli.Result one = Cli.run(append(args, "1"));
        Cli.Result two = Cli.run(append(args, "2"));
        assertEquals(0, two.exitCode(), two.err());
        assertEquals(one.json().get("ids"), two.json().get("ids"));
    }

    /** Each rank keeps its own heads' queries for the backward: fewer bytes per token than one rank keeps. */
    @Test
    void benchFinetuneOnTwoRanksReportsEachRanksActivations() {
        String[] args = {"bench", "finetune", "--model", "synthetic:tiny", "--seq-len", "16", "--lora-r", "4",
            "--targets", "all", "--steps", "1", "--warmup", "0", "--json", "--tp"};
        Cli.Result one = Cli.run(append(args, "1"));
        Cli.Result two = Cli.run(append(args, "2"));
        assertEquals(0, two.exitCode(), two.err());
        assertEquals(2, two.json().get("tp").asInt());
        assertTrue(two.json().get("tokens_per_s").asDouble() > 0, two.out());
        assertTrue(two.json().get("activation_bytes_per_token").asLong()
                < one.json().get("activation_bytes_per_token").asLong(), one.out() + two.out());
    }

    @Test
    void benchRefusesTensorParallelCoServing() {
        Cli.Result r = Cli.run("bench", "coserve", "--model", "synthetic:tiny", "--tp", "2");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--tp applies to decode, prefill and finetune"), r.err());
    }

    private static String[] append(String[] args, String last) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = last;
        return all;
    }
}
