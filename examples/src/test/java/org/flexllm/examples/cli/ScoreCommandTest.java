package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScoreCommandTest {
    private static final int TOP = 3;

    @Test
    void scoresRunCsGreedySequence() {
        List<Integer> ids = Cli.ints(GenerateCommandTest.TRACE.get("sequence"));
        Cli.Result r = Cli.run("score", "--model", Cli.STORIES.toString(), "--ids", Cli.csv(ids),
                "--top-logprobs", String.valueOf(TOP), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(ids, Cli.ints(json.get("ids")));
        JsonNode logprobs = json.get("logprobs");
        JsonNode tops = json.get("top_logprobs");
        assertEquals(ids.size(), logprobs.size());
        assertEquals(ids.size(), tops.size());
        assertTrue(logprobs.get(0).isNull());
        assertTrue(tops.get(0).isNull());
        int generatedFrom = GenerateCommandTest.promptIds().size();
        for (int t = 1; t < ids.size(); t++) {
            double lp = logprobs.get(t).asDouble();
            JsonNode best = tops.get(t).get(0);
            assertTrue(lp <= 0, "logprob " + lp + " at " + t);
            assertEquals(TOP, tops.get(t).size());
            assertTrue(best.get(1).asDouble() >= lp, "top logprob below the token's at " + t);
            if (t >= generatedFrom) {
                assertEquals(ids.get(t), best.get(0).asInt(), "run.c chose the argmax at " + t);
            }
        }
    }

    /** Passes once the real tokenizer is merged: --text is encoded with BOS, as run.c did. */
    @Test
    void textIsEncodedWithBos() {
        Cli.Result r = Cli.run("score", "--model", Cli.STORIES.toString(),
                "--text", GenerateCommandTest.TRACE.get("prompt").asText(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(GenerateCommandTest.promptIds(), Cli.ints(r.json().get("ids")));
    }
}
