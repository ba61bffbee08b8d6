package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process serving requests while a co-served LoRA job trains ({@link CoServingProcess} on stories260K), killed with
 * SIGKILL once a randomly chosen step's checkpoint is on disk, and started again: the job resumes from its last
 * checkpoint and ends with the adapter of an uninterrupted run, and every request the restarted process accepted
 * ends with all its tokens.
 */
// Child JVMs, each a few seconds of CPU, take minutes of wall time on a machine shared with other builds.
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class CoServedKillTest {
    private static final int STEPS = 16;
    private static final int IN_FLIGHT = 4;
    private static final long DEADLINE_S = 120;
    /**
     * Which requests ride along with the job's windows depends on timing, and a batch of more rows sums some products
     * in another order (past a GEMV's rows, the GEMM): two uninterrupted runs differ by some 2e-7. A step's update is
     * some 2e-2 at the end: a resume that lost or repeated a step, or the momentum, would be far outside.
     */
    private static final float TOLERANCE = 1e-4f;

    @TempDir
    Path temp;

    @Test
    void aCoServingProcessKilledAtARandomStepResumesAndEndsWithTheUninterruptedAdapter() throws Exception {
        Path straight = temp.resolve("straight");
        Cli.Result uninterrupted = run(straight, false);
        assertEquals(0, uninterrupted.exitCode(), uninterrupted.err());

        Path killed = temp.resolve("killed");
        int killAfter = 2 + new Random(17).nextInt(STEPS / 2 - 2);
        Path out = temp.resolve("killed-stdout.txt");
        Process child = Cli.startChildJvm(CoServingProcess.class, List.of(), out, temp.resolve("killed-stderr.txt"),
                args(killed, false));
        try {
            awaitLine(child, out, "checkpoint " + killAfter);
        } finally {
            child.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
        }
        assertFalse(Files.exists(killed.resolve(AdapterFolder.WEIGHTS_FILE)), "killed before the job ended");
        assertCheckpointsComplete(killed);

        Cli.Result resumed = run(killed, true);
        assertEquals(0, resumed.exitCode(), resumed.err());
        int firstStep = Integer.parseInt(line(resumed, "first-step "));
        assertTrue(firstStep >= killAfter && firstStep < STEPS, "resumed from step " + firstStep);
        String[] requests = line(resumed, "accepted ").split(" ");
        assertTrue(Integer.parseInt(requests[0]) > 0, resumed.out());
        assertEquals(requests[0], requests[2], "every request the restarted process accepted completed");
        assertAdaptersClose(straight, killed);
    }

    private static Cli.Result run(Path folder, boolean resume) throws Exception {
        return Cli.runInChildJvm(CoServingProcess.class, folder.getParent(), List.of(), args(folder, resume));
    }

    private static String[] args(Path folder, boolean resume) {
        return new String[] {Cli.STORIES.toString(), folder.toString(), String.valueOf(STEPS),
                String.valueOf(IN_FLIGHT), String.valueOf(resume)};
    }

    /** Waits until the child has printed {@code line}; fails if it ends first or the deadline passes. */
    private static void awaitLine(Process child, Path out, String line) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_S);
        while (!Files.readAllLines(out).contains(line)) {
            if (!child.isAlive()) {
                fail("the child ended (exit " + child.exitValue() + ") before printing '" + line + "'");
            }
            if (System.nanoTime() > deadline) {
                fail("the child did not print '" + line + "' within " + DEADLINE_S + " s");
            }
            Thread.sleep(2);
        }
    }

    /** The rest of the first line of the run's stdout that starts with {@code prefix}. */
    private static String line(Cli.Result r, String prefix) {
        return r.out().lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + prefix + "' line in: " + r.out()))
                .substring(prefix.length());
    }

    /**
     * Every checkpoint folder the kill left is whole: its adapter and optimizer state open, its state file is there.
     * (A checkpoint being written is a hidden temporary folder until it is complete.)
     */
    private static void assertCheckpointsComplete(Path folder) throws IOException {
        try (Stream<Path> entries = Files.list(folder); Arena arena = Arena.ofConfined()) {
            List<Path> checkpoints = entries.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+"))
                    .toList();
            assertFalse(checkpoints.isEmpty(), "no checkpoint in " + folder);
            for (Path c : checkpoints) {
                assertFalse(SafetensorsFile.open(c.resolve("adapter").resolve(AdapterFolder.WEIGHTS_FILE), arena)
                        .tensors().isEmpty(), c.toString());
                SafetensorsFile.open(c.resolve("optimizer.safetensors"), arena);
                assertTrue(Files.isRegularFile(c.resolve("trainer_state.json")), c.toString());
            }
        }
    }

    private static void assertAdaptersClose(Path expected, Path actual) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> e = SafetensorsFile.open(expected.resolve(AdapterFolder.WEIGHTS_FILE), arena).tensors();
            Map<String, Tensor> a = SafetensorsFile.open(actual.resolve(AdapterFolder.WEIGHTS_FILE), arena).tensors();
            assertEquals(e.keySet(), a.keySet());
            for (var entry : e.entrySet()) {
                assertArrayEquals(entry.getValue().data().toArray(ValueLayout.JAVA_FLOAT),
                        a.get(entry.getKey()).data().toArray(ValueLayout.JAVA_FLOAT), TOLERANCE, entry.getKey());
            }
        }
    }
}
