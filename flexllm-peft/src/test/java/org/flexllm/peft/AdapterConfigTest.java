package org.flexllm.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.flexllm.FlexLlmException;
import org.flexllm.graph.Projection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static List<Path> loraCases() {
        return Golden.loraCases();
    }

    @ParameterizedTest
    @MethodSource("loraCases")
    void readsTheGoldenConfigs(Path goldenCase) {
        AdapterConfig lora = AdapterConfig.read(goldenCase.resolve("lora"));
        assertEquals(PeftMethod.LORA, lora.method());
        assertEquals(4, lora.r());
        assertEquals(8, lora.loraAlpha());
        assertEquals(EnumSet.allOf(Projection.class), lora.targets());
        assertEquals(Optional.of(goldenCase.getFileName().toString()), lora.baseModelNameOrPath());
        assertEquals(2.0, lora.scale(), "alpha / r");
        assertEquals(4.0, AdapterConfig.read(goldenCase.resolve("lora_rslora")).scale(), "alpha / sqrt(r)");
    }

    @ParameterizedTest
    @MethodSource("loraCases")
    void writesWhatPeftWrites(Path goldenCase) throws IOException {
        Path golden = goldenCase.resolve("lora_rslora");
        AdapterConfig config = AdapterConfig.read(golden);
        config.write(dir);
        assertEquals(JSON.readTree(golden.resolve(AdapterConfig.FILE_NAME).toFile()),
                JSON.readTree(dir.resolve(AdapterConfig.FILE_NAME).toFile()), "the same fields and values");
        assertEquals(config, AdapterConfig.read(dir));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void ia3RoundTripsWithPeftsFields() throws IOException {
        AdapterConfig ia3 = AdapterConfig.builder().method(PeftMethod.IA3).baseModelNameOrPath("m").build();
        assertEquals(EnumSet.of(Projection.K_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ), ia3.targets());
        assertEquals(Set.of(Projection.DOWN_PROJ), ia3.feedforwardModules());
        ia3.write(dir);
        JsonNode json = JSON.readTree(dir.resolve(AdapterConfig.FILE_NAME).toFile());
        assertEquals("IA3", json.get("peft_type").textValue());
        assertEquals("[\"k_proj\",\"v_proj\",\"down_proj\"]", json.get("target_modules").toString());
        assertEquals("[\"down_proj\"]", json.get("feedforward_modules").toString());
        assertTrue(json.get("init_ia3_weights").booleanValue());
        assertTrue(!json.has("r") && !json.has("lora_alpha"), "no LoRA fields");
        assertEquals(ia3, AdapterConfig.read(dir));
    }

    @Test
    void acceptsAllLinearAndListsOfModules() throws IOException {
        AdapterConfig allLinear = readWith(c -> c.put("target_modules", "all-linear"));
        assertEquals(EnumSet.allOf(Projection.class), allLinear.targets());
        assertEquals(EnumSet.allOf(Projection.class), TargetModules.parse("all"));
        assertEquals(EnumSet.of(Projection.Q_PROJ, Projection.UP_PROJ), TargetModules.parse("up_proj, q_proj"));
    }

    @Test
    void rejectsANonPositiveRankNamingIt() {
        var e = assertThrows(InvalidAdapterConfigException.class, () -> readWith(c -> c.put("r", 0)));
        assertTrue(e.getMessage().contains("r = 0"), e.getMessage());
        assertThrows(InvalidAdapterConfigException.class, () -> AdapterConfig.builder().r(-1).build());
    }

    @Test
    void rejectsAnUnknownModuleListingTheValidOnes() {
        var e = assertThrows(InvalidAdapterConfigException.class,
                () -> readWith(c -> c.putArray("target_modules").add("q_proj").add("lm_head")));
        assertTrue(e.getMessage().contains("'lm_head'")
                && e.getMessage().contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"),
                e.getMessage());
        assertTrue(e.getMessage().contains(AdapterConfig.FILE_NAME), "names the file: " + e.getMessage());
    }

    @Test
    void rejectsFeaturesItDoesNotImplementNamingTheField() {
        assertUnsupported(c -> c.put("peft_type", "PREFIX_TUNING"), "PREFIX_TUNING");
        assertUnsupported(c -> c.put("use_dora", true), "use_dora = true");
        assertUnsupported(c -> c.put("fan_in_fan_out", true), "fan_in_fan_out = true");
        assertUnsupported(c -> c.put("bias", "all"), "bias = \"all\"");
        assertUnsupported(c -> c.putObject("rank_pattern").put("q_proj", 8), "rank_pattern");
        assertUnsupported(c -> c.put("layers_to_transform", 3), "layers_to_transform = 3");
        assertUnsupported(c -> c.put("target_modules", ".*q_proj"), "regular expression");
    }

    @Test
    void rejectsMalformedFields() {
        assertInvalid(c -> c.put("r", "4"), "r = \"4\"");
        assertInvalid(c -> c.put("lora_dropout", 1.0), "lora_dropout");
        assertInvalid(c -> c.remove("target_modules"), "target_modules is missing");
        assertInvalid(c -> c.putArray("target_modules"), "target_modules is empty");
        Path elsewhere = dir.resolve("elsewhere");
        var missing = assertThrows(InvalidAdapterConfigException.class, () -> AdapterConfig.read(elsewhere));
        assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
    }

    @Test
    void ia3FeedforwardModulesMustBeTargets() {
        var e = assertThrows(InvalidAdapterConfigException.class, () -> AdapterConfig.builder()
                .method(PeftMethod.IA3).targets(Set.of(Projection.K_PROJ))
                .feedforwardModules(Set.of(Projection.DOWN_PROJ)).build());
        assertTrue(e.getMessage().contains("feedforward_modules"), e.getMessage());
    }

    private void assertUnsupported(Consumer<ObjectNode> edit, String expected) {
        var e = assertThrows(UnsupportedAdapterException.class, () -> readWith(edit));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private void assertInvalid(Consumer<ObjectNode> edit, String expected) {
        FlexLlmException e = assertThrows(InvalidAdapterConfigException.class, () -> readWith(edit));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /** The golden LoRA config with one edit, written to the temporary folder and read back. */
    private AdapterConfig readWith(Consumer<ObjectNode> edit) throws IOException {
        Path golden = Golden.loraCases().getFirst().resolve("lora").resolve(AdapterConfig.FILE_NAME);
        ObjectNode json = (ObjectNode) JSON.readTree(golden.toFile());
        edit.accept(json);
        Files.writeString(dir.resolve(AdapterConfig.FILE_NAME), json.toString());
        return AdapterConfig.read(dir);
    }
}
