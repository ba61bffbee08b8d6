package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** Speculative decoding from the command line: generate, bench decode and bench spec. */
class SpeculationCommandTest {
    private static final String[] GREEDY = {"generate", "--model", Cli.STORIES.toString(), "--prompt",
            "Once upon a time", "--max-tokens", "40", "--temperature", "0", "--json"};

    @Test
    void greedyGenerationWithADraftIsGreedyGenerationWithout() {
        Cli.Result plain = Cli.run(GREEDY);
        Cli.Result drafted = Cli.run(GenerateCommandTest.append(GenerateCommandTest.append(GREEDY, "--draft"),
                "layers:2"));
        assertEquals(0, drafted.exitCode(), drafted.err());
        assertEquals(Cli.ints(plain.json().get("ids")), Cli.ints(drafted.json().get("ids")));
    }

    @Test
    void anOracleDraftIsForBenchmarksOnly() {
        Cli.Result r = Cli.run(GenerateCommandTest.append(GenerateCommandTest.append(GREEDY, "--draft"), "oracle:0.7"));
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("benchmarks only"), r.err());
    }

    @Test
    void benchDecodeReportsTheAcceptance() {
        Cli.Result r = Cli.run("bench", "decode", "--model", Cli.STORIES.toString(), "--gen-len", "24", "--repeat",
                "1", "--draft", "oracle:0.8", "--spec-policy", "chain", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals("oracle:0.8", json.get("draft").asText());
        assertEquals("chain", json.get("spec_policy").asText());
        double accepted = json.get("acceptance_rate").asDouble();
        assertTrue(accepted > 0.3 && accepted <= 1, "acceptance " + accepted + " of an 0.8 oracle");
        assertTrue(json.get("mean_accepted_length").asDouble() > 1);
    }

    @Test
    void benchSpecReportsEachLatencyClass() {
        Cli.Result r = Cli.run("bench", "spec", "--model", "synthetic:tiny", "--draft", "oracle:0.7", "--spec-policy",
                "adaserve", "--rate", "4", "--duration", "2", "--slo-tpot-ms", "20,200", "--slo-mix", "0.5,0.5",
                "--slo-ttft-ms", "2000", "--prompt-len", "16", "--output-len", "16", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(2, json.get("slo_attainment_by_class").size());
        assertTrue(json.get("requests_submitted").asInt() > 0);
        assertTrue(json.get("goodput_tokens_per_s").asDouble() <= json.get("tokens_per_s").asDouble());
        assertTrue(json.get("mean_accepted_length").asDouble() >= 1);
        assertEquals("adaserve", json.get("policy").asText());
    }
}
