package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DemoCommandTest {
    @Test
    void streamsEveryRequestThenTabulatesLatencies() {
        Cli.Result r = Cli.run("demo", "--model", "synthetic:tiny", "--requests", "3", "--max-tokens", "6");
        assertEquals(0, r.exitCode(), r.err());
        List<String> lines = r.out().lines().toList();
        for (int n = 1; n <= 3; n++) {
            assertEquals(1, count(lines, "\\[" + n + "] .*\\(done\\)"), r.out());
            assertEquals(1, count(lines, n + " +\\d+ +\\d+ +(length|stop) .*"), r.out());
        }
        assertTrue(lines.getLast().startsWith("p50"), r.out());
    }

    private static long count(List<String> lines, String regex) {
        return lines.stream().filter(l -> l.matches(regex)).count();
    }

    @Test
    void controlCharactersAreEscaped() {
        assertEquals("a\\u0001b\\u000a\\u202ec", DemoCommand.escape("a\u0001b\n\u202Ec"));
    }
}
