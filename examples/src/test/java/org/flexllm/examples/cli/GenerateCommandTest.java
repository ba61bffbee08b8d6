package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {
    /** llama2.c's run.c, greedy, on the same checkpoint: prompt_tokens and the whole sequence, BOS first. */
    static final JsonNode TRACE = Cli.json(Cli.STORIES.resolve("reference/trace_greedy_once_upon_a_time_n64.json"));

    static List<Integer> promptIds() {
        return Cli.ints(TRACE.get("prompt_tokens"));
    }

    static List<Integer> continuation() {
        List<Integer> sequence = Cli.ints(TRACE.get("sequence"));
        return sequence.subList(promptIds().size(), sequence.size());
    }

    @Test
    void greedyIdsMatchRunC() {
        List<Integer> expected = continuation();
        Cli.Result r = Cli.run("generate", "--model", Cli.STORIES.toString(), "--prompt-ids", Cli.csv(promptIds()),
                "--max-tokens", String.valueOf(expected.size()), "--temperature", "0", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(promptIds(), Cli.ints(json.get("prompt_ids")));
        assertEquals(expected, Cli.ints(json.get("ids")));
        assertTrue(json.get("text").isTextual());
        assertEquals("length", json.get("finish_reason").asText());
        assertTrue(json.get("ttft_ms").asDouble() > 0);
        assertTrue(json.get("tpot_ms").asDouble() > 0);
    }

    @Test
    void streamedTextIsTheResultText() {
        String[] args = {"generate", "--model", Cli.STORIES.toString(), "--prompt-ids", Cli.csv(promptIds()),
                "--max-tokens", "20", "--temperature", "0"};
        Cli.Result streamed = Cli.run(args);
        Cli.Result json = Cli.run(append(args, "--json"));
        assertEquals(0, streamed.exitCode(), streamed.err());
        assertEquals(json.json().get("text").asText() + System.lineSeparator(), streamed.out());
    }

    /** Passes once the real tokenizer is merged: the text prompt is encoded with BOS, as run.c did. */
    @Test
    void textPromptIsEncodedWithBos() {
        List<Integer> expected = continuation();
        Cli.Result r = Cli.run("generate", "--model", Cli.STORIES.toString(), "--prompt", TRACE.get("prompt").asText(),
                "--max-tokens", String.valueOf(expected.size()), "--temperature", "0", "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(promptIds(), Cli.ints(r.json().get("prompt_ids")));
        assertEquals(expected, Cli.ints(r.json().get("ids")));
    }

    @Test
    void seededSamplingRepeats() {
        String[] args = {"generate", "--model", Cli.STORIES.toString(), "--prompt-ids", Cli.csv(promptIds()),
                "--max-tokens", "30", "--temperature", "1", "--top-p", "0.9", "--top-k", "40", "--seed", "7", "--json"};
        Cli.Result first = Cli.run(args);
        assertEquals(0, first.exitCode(), first.err());
        assertEquals(first.json().get("ids"), Cli.run(args).json().get("ids"));
    }

    static String[] append(String[] args, String arg) {
        String[] more = Arrays.copyOf(args, args.length + 1);
        more[args.length] = arg;
        return more;
    }

    @Test
    void eachOfSeveralSamplesIsTheRunOfItsOwnSeed() {
        String[] args = {"generate", "--model", Cli.STORIES.toString(), "--prompt-ids", Cli.csv(promptIds()),
                "--max-tokens", "12", "--temperature", "1", "--json"};
        Cli.Result samples = Cli.run(append(append(append(append(args, "--num-samples"), "3"), "--seed"), "7"));
        assertEquals(0, samples.exitCode(), samples.err());
        String[] lines = samples.out().strip().split("\\R");
        assertEquals(3, lines.length, samples.out());
        for (int i = 0; i < 3; i++) {
            Cli.Result alone = Cli.run(append(append(args, "--seed"), String.valueOf(7 + i)));
            assertEquals(Cli.ints(alone.json().get("ids")), Cli.ints(Cli.parse(lines[i]).get("ids")), "sample " + i);
        }
        assertNotEquals(Cli.ints(Cli.parse(lines[0]).get("ids")), Cli.ints(Cli.parse(lines[1]).get("ids")),
                "two seeds, two samples");
    }
}
