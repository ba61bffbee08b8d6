package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flexllm.peft.format.AdapterFolder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The size of the CPU kernels' pool ({@code flexllm.threads}) changes how the work is split, never a bit of the
 * result: each run is a process of its own on stories260K (an intermediate size of 172, a multiple of no vector
 * length, and samples of 20 to 70 tokens, more rows than the pool makes chunks), with 1, 2 and 3 threads.
 */
// Child JVMs, each a few seconds of CPU, take minutes of wall time on a machine shared with other builds.
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ThreadCountTest {
    private static final List<Integer> THREADS = List.of(1, 2, 3);
    /** Run.c's greedy story: lines of 40 to 70 tokens. */
    private static final Path STORY = Cli.STORIES.resolve("reference/greedy_once_upon_a_time_n256.txt");

    @TempDir
    Path temp;
    private List<String> lines;

    @BeforeEach
    void readStory() throws IOException {
        lines = Files.readAllLines(STORY).stream().filter(l -> !l.isBlank()).toList();
    }

    /** Every projection adapted, dropout on, AdamW with clipping: the gradients of every kernel reach the adapter. */
    @Test
    void finetuningWritesTheSameAdapterBytesWhateverTheThreadCount() throws Exception {
        List<String> jsonl = new ArrayList<>();
        for (String line : lines) {
            jsonl.add(Cli.MAPPER.writeValueAsString(Map.of("text", line)));
        }
        Path data = Files.write(temp.resolve("story.jsonl"), jsonl);
        assertSameAdapterBytes("standalone", (threads, out) -> inChildJvm(FlexLlm.class, threads, "finetune",
                "--model", Cli.STORIES.toString(), "--data", data.toString(), "--out", out.toString(), "--steps", "3",
                "--targets", "all", "--lora-dropout", "0.1", "--optimizer", "adamw", "--lr", "1e-2",
                "--max-grad-norm", "1"));
    }

    /**
     * A co-served job alone in an engine (a simulated clock, a fixed latency model): forward windows through the KV
     * cache and backward slices of layers; then the log-probabilities of a prefill, which must agree to the bit too.
     */
    @Test
    void coServedFinetuningAndScoringGiveTheSameBitsWhateverTheThreadCount() throws Exception {
        List<String> logprobs = new ArrayList<>();
        assertSameAdapterBytes("co-served", (threads, out) -> {
            Cli.Result r = inChildJvm(CoServingProcess.class, threads, Cli.STORIES.toString(), out.toString(), "3",
                    "0", "false");
            r.out().lines().filter(l -> l.startsWith("logprobs ")).forEach(logprobs::add);
            return r;
        });
        assertEquals(THREADS.size(), logprobs.size(), logprobs.toString());
        for (int i = 1; i < THREADS.size(); i++) {
            assertEquals(logprobs.getFirst(), logprobs.get(i), THREADS.get(i) + " threads against 1");
        }
    }

    /** A finetuning run that writes its adapter to {@code out}. */
    @FunctionalInterface
    private interface Training {
        Cli.Result run(int threads, Path out) throws Exception;
    }

    private void assertSameAdapterBytes(String name, Training training) throws Exception {
        List<byte[]> adapters = new ArrayList<>();
        for (int threads : THREADS) {
            Path out = temp.resolve(name + "-" + threads);
            Cli.Result r = training.run(threads, out);
            assertEquals(0, r.exitCode(), r.err());
            adapters.add(Files.readAllBytes(out.resolve(AdapterFolder.WEIGHTS_FILE)));
        }
        for (int i = 1; i < THREADS.size(); i++) {
            assertArrayEquals(adapters.getFirst(), adapters.get(i), THREADS.get(i) + " threads against 1");
        }
    }

    private Cli.Result inChildJvm(Class<?> main, int threads, String... args) throws Exception {
        return Cli.runInChildJvm(main, temp, List.of("-Dflexllm.threads=" + threads), args);
    }
}
