package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ErrorsTest {
    @TempDir
    Path temp;

    @Test
    void missingModelFolderIsNamed() {
        Path missing = temp.resolve("no-such-model");
        Cli.Result r = Cli.run("generate", "--model", missing.toString(), "--prompt", "hi");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains(missing.toString()) && r.err().contains("config.json"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        assertTrue(r.out().isEmpty());
    }

    @Test
    void verboseAddsTheStackTrace() {
        Cli.Result r = Cli.run("score", "--verbose", "--model", temp.resolve("none").toString(), "--ids", "1,2");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains("\tat org.flexllm."), r.err());
    }

    @Test
    void promptAndPromptIdsExcludeEachOther() {
        Cli.Result r = Cli.run("generate", "--model", Cli.STORIES.toString(), "--prompt", "hi", "--prompt-ids", "1,2");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains("--prompt") && r.err().contains("mutually exclusive"), r.err());
    }

    @Test
    void promptLongerThanTheContextIsRejected() {
        String ids = String.join(",", Collections.nCopies(600, "1"));
        Cli.Result r = Cli.run("generate", "--model", Cli.STORIES.toString(), "--prompt-ids", ids);
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains("600 tokens"), r.err());
    }

    @Test
    void missingCommandIsAnError() {
        Cli.Result r = Cli.run();
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("generate"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "generate", "score", "tokenize", "detokenize", "finetune", "serve", "bench"})
    void everyCommandHasHelp(String command) {
        Cli.Result r = Cli.run(command, "--help");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().startsWith("Usage: flexllm " + command), r.out());
    }
}
