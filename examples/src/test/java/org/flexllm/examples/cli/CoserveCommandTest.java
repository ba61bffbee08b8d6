package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CoserveCommandTest {
    /** The issue's JSON fields, in its order. */
    private static final List<String> FIELDS = List.of("policy", "slo_attainment", "ttft_p50_ms", "ttft_p99_ms",
            "tpot_p50_ms", "tpot_p99_ms", "inference_tokens_per_s", "finetune_tokens_per_s", "requests_submitted",
            "requests_completed");

    @TempDir
    Path temp;

    /** Two seconds of short requests on the tiny model, with generous targets. */
    private static Cli.Result run(String policy, String... more) {
        List<String> args = new ArrayList<>(List.of("--slo-ttft-ms", "2000", "--slo-tpot-ms", "500"));
        args.addAll(List.of(more));
        return runWithout(policy, args.toArray(String[]::new));
    }

    /** Two seconds of short requests on the tiny model, with no targets unless {@code more} gives some. */
    private static Cli.Result runWithout(String policy, String... more) {
        List<String> args = new ArrayList<>(List.of("bench", "coserve", "--model", "synthetic:tiny", "--policy", policy,
                "--duration", "2", "--prompt-len", "16", "--output-len", "8", "--ft-seq-len", "32", "--lora-r", "4",
                "--json"));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    private static List<String> fieldNames(JsonNode json) {
        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void inferenceOnlyReportsTheIssuesFieldsAndPlots() throws IOException {
        Path plot = temp.resolve("timeline.png");
        Cli.Result r = run("inference-only", "--rate", "5", "--plot", plot.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(FIELDS, fieldNames(json).subList(0, FIELDS.size()));
        assertEquals("inference-only", json.get("policy").asText());
        int submitted = json.get("requests_submitted").asInt();
        assertTrue(submitted > 0 && json.get("requests_completed").asInt() <= submitted, json.toString());
        double attainment = json.get("slo_attainment").asDouble();
        assertTrue(attainment >= 0 && attainment <= 1, json.toString());
        assertEquals(0, json.get("finetune_tokens_per_s").asDouble());
        // The rate's formula has hand-computed cases in CoserveReportTest; here, facts the run's output cannot
        // restate: every completed request generated a token, and tokens make a rate.
        int generated = json.get("generated_tokens").asInt();
        assertTrue(generated >= json.get("requests_completed").asInt(), json.toString());
        assertEquals(generated > 0, json.get("inference_tokens_per_s").asDouble() > 0, json.toString());
        assertTrue(json.get("wall_s").asDouble() >= 2, json.toString());
        assertNotNull(ImageIO.read(plot.toFile()), "a PNG ImageIO decodes");
    }

    @ParameterizedTest
    @ValueSource(strings = {"coserve", "temporal", "spatial", "finetune-only"})
    void policiesWithAJobFinetune(String policy) {
        Cli.Result r = run(policy, "--rate", "2");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(policy, json.get("policy").asText());
        assertTrue(json.get("finetune_tokens_per_s").asDouble() > 0, json.toString());
        assertConsistentLatencyModel(json.get("latency_model"));
        assertConsistentGcPauses(json.get("gc_pauses"));
        assertTrue(json.get("slo_calibration").isNull(), "the targets were given");
    }

    /** Errors are fractions, p50 at most p90; the share over the limit counts limited iterations only. */
    private static void assertConsistentLatencyModel(JsonNode m) {
        int iterations = m.get("iterations").asInt();
        int limited = m.get("limited_iterations").asInt();
        assertTrue(iterations > 0 && limited >= 0 && limited <= iterations, m.toString());
        double p50 = m.get("error_p50").asDouble();
        assertTrue(p50 >= 0 && p50 <= m.get("error_p90").asDouble(), m.toString());
        JsonNode share = m.get("over_limit_share");
        assertTrue(limited == 0 ? share.isNull() : share.asDouble() >= 0 && share.asDouble() <= 1, m.toString());
    }

    private static void assertConsistentGcPauses(JsonNode gc) {
        int count = gc.get("count").asInt();
        double p99 = gc.get("p99_ms").asDouble();
        double max = gc.get("max_ms").asDouble();
        assertTrue(count >= 0 && p99 >= 0 && p99 <= max && (count > 0 || max == 0), gc.toString());
        assertTrue(gc.get("collectors").asText().length() > 0, gc.toString());
    }

    @Test
    void sloAutoSetsTheTargetsFromAnUnloadedRunAndSaysSo() {
        Cli.Result r = runWithout("coserve", "--rate", "5", "--slo-auto", "--slo-tpot-factor", "2");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        JsonNode c = json.get("slo_calibration");
        assertEquals(2, c.get("tpot_factor").asDouble());
        assertEquals(3, c.get("ttft_factor").asDouble(), "the default");
        assertEquals(2, c.get("duration_s").asDouble(), "the requested duration, under the calibration's cap");
        assertTrue(c.get("requests_completed").asInt() > 0, c.toString());
        double tpot = 2 * c.get("unloaded_tpot_p50_ms").asDouble();
        double ttft = 3 * c.get("unloaded_ttft_p99_ms").asDouble();
        assertEquals(tpot, c.get("slo_tpot_ms").asDouble(), 1e-9 * tpot);
        assertEquals(ttft, c.get("slo_ttft_ms").asDouble(), 1e-9 * ttft);
        assertEquals(tpot, json.get("slo_tpot_ms").asDouble(), 1e-9 * tpot, "the measured run's target");
        assertEquals(ttft, json.get("slo_ttft_ms").asDouble(), 1e-9 * ttft);
        assertTrue(r.err().contains("--slo-auto: unloaded TPOT p50"), r.err());
    }

    @Test
    void sloAutoTheTableNamesTheCalibration() {
        Cli.Result r = Cli.run("bench", "coserve", "--model", "synthetic:tiny", "--policy", "inference-only",
                "--duration", "1", "--rate", "5", "--prompt-len", "16", "--output-len", "8", "--slo-auto");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("SLO calibration  unloaded (inference-only, 1.0 s") && r.out().contains(
                "TPOT SLO 1.5 x ") && r.out().contains("latency model    error p50 ")
                && r.out().contains("GC pauses        "), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--slo-ttft-ms=100", "--slo-tpot-ms=10"})
    void sloAutoConflictsWithGivenTargets(String target) {
        Cli.Result r = runWithout("coserve", "--rate", "1", "--slo-auto", target);
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--slo-auto sets the targets itself"), r.err());
    }

    @Test
    void sloAutoOptionsAreChecked() {
        Cli.Result r = run("coserve", "--rate", "1", "--slo-tpot-factor", "2");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("need --slo-auto"), r.err());
        r = runWithout("coserve", "--rate", "1", "--slo-auto", "--slo-ttft-factor", "0");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--slo-ttft-factor must be a positive number"), r.err());
        r = runWithout("finetune-only", "--slo-auto");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("finetune-only serves none"), r.err());
        r = runWithout("coserve", "--rate", "1");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--slo-ttft-ms (or --slo-auto)"), r.err());
    }

    @Test
    void finetuneOnlySubmitsNoRequests() {
        Cli.Result r = run("finetune-only");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = r.json();
        assertEquals(0, json.get("requests_submitted").asInt());
        assertTrue(json.get("slo_attainment").isNull() && json.get("ttft_p50_ms").isNull(), json.toString());
    }

    @Test
    void thePolicyIsRequiredAndChecked() {
        Cli.Result r = Cli.run("bench", "coserve", "--model", "synthetic:tiny", "--rate", "1", "--duration", "1",
                "--slo-ttft-ms", "100", "--slo-tpot-ms", "10");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--policy"), r.err());
        r = run("fastest", "--rate", "1");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("inference-only"), r.err());
    }

    @Test
    void rateAndTraceExcludeEachOther() throws IOException {
        Path trace = Files.writeString(temp.resolve("t.csv"), "0,4,4\n");
        Cli.Result r = run("coserve", "--rate", "1", "--trace", trace.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("not both"), r.err());
        r = run("coserve");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--rate or --trace"), r.err());
    }

    @Test
    void aBadTraceLineIsNamedBeforeTheModelLoads() throws IOException {
        Path trace = Files.writeString(temp.resolve("t.csv"), "timestamp_s,prompt_len,output_len\n0,4,4\n0.5,4,-2\n");
        Cli.Result r = run("inference-only", "--trace", trace.toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains(trace + ":3: output_len '-2'"), r.err());
    }
}
