package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.Set;
import org.flexllm.graph.Projection;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.SyntheticModel;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.format.AdapterFolder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class FinetuneCommandTest {
    private static final List<String> C1_ONLY = List.of("-XX:TieredStopAtLevel=1");
    private static final List<String> C2_EARLY = List.of("-XX:-TieredCompilation", "-XX:CompileThreshold=20");
    private static final List<String> TEXTS = List.of("{\"text\": \"the cat sat on the mat\"}",
            "{\"text\": \"a dog ran far away\"}", "{\"text\": \"the sun is hot today\"}");

    @TempDir
    Path temp;
    private Path data;

    @BeforeEach
    void writeDataset() throws IOException {
        data = Files.write(temp.resolve("data.jsonl"), TEXTS);
    }

    @Test
    void jsonIsOneLinePerStepWithExactlyItsFields() {
        Path out = temp.resolve("out");
        Cli.Result r = finetune(out, "--steps", "4", "--lr", "1e-2", "--json");
        assertEquals(0, r.exitCode(), r.err());
        List<JsonNode> lines = r.jsonLines();
        assertEquals(4, lines.size(), r.out());
        for (int i = 0; i < lines.size(); i++) {
            JsonNode line = lines.get(i);
            assertEquals(List.of("step", "loss", "tokens_per_s"), fieldNames(line));
            assertEquals(i + 1, line.get("step").asInt());
            double loss = line.get("loss").asDouble();
            assertTrue(loss > 0 && Double.isFinite(loss), line.toString());
            assertTrue(line.get("tokens_per_s").asDouble() > 0, line.toString());
        }
        assertTrue(Files.isRegularFile(out.resolve(AdapterFolder.WEIGHTS_FILE)));
        assertTrue(Files.isRegularFile(out.resolve(AdapterConfig.FILE_NAME)));
    }

    /**
     * Each run is a process of its own, as on the command line, and each runs its kernels in other JIT tiers: the
     * uninterrupted run compiles them with C2 alone after a few calls (interpreted before that), the interrupted
     * and resumed one stops at C1. The kernels' math (exp, lane sums) has one result in every tier, so the bytes
     * must agree.
     */
    @Test
    void resumedRunEndsWithTheUninterruptedAdapterBytesWhateverTheJit() throws Exception {
        Path straight = temp.resolve("straight");
        assertEquals(0, finetuneInChildJvm(straight, C2_EARLY, "--steps", "4", "--lr", "1e-2").exitCode());
        Path resumed = temp.resolve("resumed");
        assertEquals(0, finetuneInChildJvm(resumed, C1_ONLY, "--steps", "2", "--lr", "1e-2").exitCode());
        byte[] halfway = weights(resumed);
        Cli.Result r = finetuneInChildJvm(resumed, C1_ONLY, "--steps", "4", "--lr", "1e-2", "--resume");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("resuming from step 2 of 4"), r.out());
        assertFalse(Arrays.equals(halfway, weights(resumed)));
        assertArrayEquals(weights(straight), weights(resumed));
    }

    /**
     * Killed with SIGKILL at random moments (seeded) and resumed each time, a run ends with the bytes of an
     * uninterrupted one; whenever it was killed, the adapter in its folder, if any, was a complete one.
     */
    @Test
    void killedAtRandomMomentsAndResumedEndsWithTheUninterruptedAdapterBytes() throws Exception {
        String[] job = {"--steps", "8", "--lr", "1e-2", "--checkpoint-every", "1"};
        Path straight = temp.resolve("straight");
        assertEquals(0, finetuneInChildJvm(straight, List.of(), job).exitCode());
        Path killed = temp.resolve("killed");
        Random moments = new Random(5);
        for (int kill = 0; kill < 4; kill++) {
            List<String> args = new ArrayList<>(List.of(args(killed, job)));
            if (Files.isDirectory(killed)) {
                args.add("--resume");
            }
            Process child = Cli.startChildJvm(List.of(), temp.resolve("out" + kill), temp.resolve("err" + kill),
                    args.toArray(String[]::new));
            if (!child.waitFor(300 + moments.nextInt(2500), TimeUnit.MILLISECONDS)) {
                child.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
            }
            if (Files.exists(killed.resolve(AdapterFolder.WEIGHTS_FILE))) {
                assertEquals(Set.of(Projection.Q_PROJ, Projection.V_PROJ), AdapterConfig.read(killed).targets());
                try (Arena arena = Arena.ofConfined()) {
                    var tensors = SafetensorsFile.open(killed.resolve(AdapterFolder.WEIGHTS_FILE), arena).tensors();
                    assertEquals(2 * 2 * 2, tensors.size(), "A and B of q and v in tiny's 2 layers, kill " + kill);
                }
            }
        }
        List<String> resume = new ArrayList<>(List.of(job));
        if (Files.isDirectory(killed)) {
            resume.add("--resume");
        }
        Cli.Result r = finetuneInChildJvm(killed, List.of(), resume.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(weights(straight), weights(killed));
    }

    /**
     * On two tensor-parallel ranks the job runs in a finetuning-only engine whose loop drives both: the adapter it
     * writes, an ordinary PEFT folder, is one rank's within f32 tolerance (the ranks sum partial products in another
     * order).
     */
    @Test
    @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void onTwoRanksTheAdapterIsOneRanks() {
        String[] job = {"--steps", "3", "--optimizer", "sgd", "--lr", "0.1", "--targets", "all"};
        assertEquals(0, finetune(temp.resolve("one"), job).exitCode());
        List<String> split = new ArrayList<>(List.of(job));
        split.addAll(List.of("--tp", "2"));
        Cli.Result r = finetune(temp.resolve("two"), split.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        try (Arena arena = Arena.ofConfined()) {
            var one = AdapterFolder.read(temp.resolve("one"), SyntheticModel.config("tiny"), arena).tensors();
            var two = AdapterFolder.read(temp.resolve("two"), SyntheticModel.config("tiny"), arena).tensors();
            assertEquals(one.keySet(), two.keySet());
            one.forEach((key, t) -> assertArrayEquals(t.data().toArray(ValueLayout.JAVA_FLOAT),
                    two.get(key).data().toArray(ValueLayout.JAVA_FLOAT), 1e-5f, key));
        }
    }

    @Test
    void heldOutEvaluationNeedsOneRank() {
        Cli.Result r = finetune(temp.resolve("out"), "--tp", "2", "--eval-fraction", "0.3");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--eval-fraction needs a job on one rank"), r.err());
    }

    @Test
    void ia3DefaultsToPeftsLlamaTargets() {
        Path out = temp.resolve("out");
        assertEquals(0, finetune(out, "--method", "ia3", "--steps", "1").exitCode());
        AdapterConfig config = AdapterConfig.read(out);
        assertEquals(PeftMethod.IA3, config.method());
        assertEquals(EnumSet.of(Projection.K_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ), config.targets());
        assertEquals(Set.of(Projection.DOWN_PROJ), config.feedforwardModules());
    }

    @Test
    void malformedLineIsNamedWithItsNumber() throws IOException {
        Files.write(data, List.of(TEXTS.get(0), "{\"text\": 5}"));
        assertOneLineError(finetune(temp.resolve("out"), "--steps", "1"), data + ":2:", "'text' must be a string");
    }

    @Test
    void emptyDatasetIsRejected() throws IOException {
        Files.write(data, List.of("", "  "));
        assertOneLineError(finetune(temp.resolve("out"), "--steps", "1"), data.toString(), "no examples");
    }

    @Test
    void rankZeroIsRejected() {
        assertOneLineError(finetune(temp.resolve("out"), "--lora-r", "0"), "r = 0", "rank must be at least 1");
    }

    @Test
    void unknownTargetIsNamedWithTheValidOnes() {
        assertOneLineError(finetune(temp.resolve("out"), "--targets", "q_proj,qkv_proj"),
                "unknown target module 'qkv_proj'", "v_proj");
    }

    @Test
    void divergingLossStopsWithAMessage() {
        Path out = temp.resolve("out");
        // With every projection adapted the residual stream overflows to NaN by the second step.
        Cli.Result r = finetune(out, "--steps", "20", "--lr", "1e30", "--targets", "all", "--json");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("is not finite"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertTrue(r.jsonLines().size() < 20);
        assertFalse(Files.exists(out.resolve(AdapterFolder.WEIGHTS_FILE)));
    }

    @Test
    void usedOutputNeedsResume() throws IOException {
        Path out = Files.createDirectories(temp.resolve("out"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Cli.Result r = finetune(out, "--steps", "1");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--resume"), r.err());
    }

    private Cli.Result finetune(Path out, String... options) {
        return Cli.run(args(out, options));
    }

    private String[] args(Path out, String... options) {
        List<String> args = new ArrayList<>(List.of("finetune", "--model", "synthetic:tiny", "--data", data.toString(),
                "--out", out.toString()));
        args.addAll(List.of(options));
        return args.toArray(String[]::new);
    }

    private Cli.Result finetuneInChildJvm(Path out, List<String> jit, String... options) throws Exception {
        return Cli.runInChildJvm(temp, jit, args(out, options));
    }

    /** A failed run whose stderr is one line holding every fragment, and no stack trace. */
    private static void assertOneLineError(Cli.Result r, String... fragments) {
        assertEquals(1, r.exitCode(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String fragment : fragments) {
            assertTrue(r.err().contains(fragment), "'" + fragment + "' not in: " + r.err());
        }
    }

    private static List<String> fieldNames(JsonNode json) {
        return json.properties().stream().map(Map.Entry::getKey).toList();
    }

    private static byte[] weights(Path out) throws IOException {
        return Files.readAllBytes(out.resolve(AdapterFolder.WEIGHTS_FILE));
    }
}
