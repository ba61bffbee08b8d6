package org.flexllm.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class QuickStartTest {
    @Test
    void runsToTheCancellation() throws InterruptedException {
        PrintStream stdout = System.out;
        var captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(new String[0]);
        } finally {
            System.setOut(stdout);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertTrue(out.matches("(?s).*\\[\\d+ tokens streamed].*"), out);
        assertTrue(out.contains("cancelled after a few tokens"), out);
    }
}
