package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.flexllm.backend.Backends;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code flexllm info} and {@code --backend}: on a machine with no usable CUDA backend (every machine, until one is
 * written), auto chooses the CPU and says why cuda was not chosen; cuda by name is an error saying why.
 */
class InfoCommandTest {
    /** --backend sets the JVM's default backend: leave none behind for the tests that build engines in-process. */
    @AfterEach
    void forgetTheBackend() {
        System.clearProperty(Backends.PROPERTY);
    }

    @Test
    void jsonListsCudaUnavailableWithItsReasonAndChoosesTheCpu() {
        Cli.Result r = Cli.run("info", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode info = r.json();
        assertEquals("cpu", info.get("chosen").asText());
        JsonNode cuda = info.get("backends").get(0);
        assertEquals("cuda", cuda.get("name").asText());
        assertFalse(cuda.get("available").asBoolean());
        assertFalse(cuda.get("reason").asText().isBlank());
        assertTrue(cuda.has("cublas") && cuda.has("nccl") && cuda.has("driver_cuda_version"), cuda.toString());
        assertTrue(info.get("why").asText().contains("cuda is not available (" + cuda.get("reason").asText() + ")"),
                info.get("why").asText());
        JsonNode cpu = info.get("backends").get(1);
        assertEquals("cpu", cpu.get("name").asText());
        assertTrue(cpu.get("available").asBoolean());
        assertFalse(cpu.has("reason"));
        assertTrue(cpu.get("vector_bits").asInt() >= 128 && cpu.get("threads").asInt() >= 1, cpu.toString());
    }

    @Test
    void cudaByNameChoosesNothingAndSaysWhyWhileTheNextRunIsAutoAgain() {
        JsonNode cuda = Cli.run("info", "--json", "--backend", "cuda").json();
        assertTrue(cuda.get("chosen").isNull());
        assertTrue(cuda.get("why").asText().startsWith("cuda: "), cuda.get("why").asText());
        assertEquals("cpu", Cli.run("info", "--json").json().get("chosen").asText());
    }

    @Test
    void generateOnCudaWhereItCannotRunIsAnErrorSayingWhy() {
        Cli.Result r = Cli.run("generate", "--backend", "cuda", "--model", Cli.STORIES.toString(), "--prompt", "hi");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("the cuda backend cannot run here: "), r.err());
    }

    @Test
    void anUnknownBackendNamesTheKnownOnes() {
        Cli.Result r = Cli.run("score", "--backend", "tpu", "--model", Cli.STORIES.toString(), "--text", "hi");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("no backend named 'tpu': choose auto or one of [cuda, cpu]"), r.err());
    }

    @Test
    void theCpuByNameGenerates() {
        Cli.Result r = Cli.run("generate", "--backend", "cpu", "--model", Cli.STORIES.toString(), "--prompt", "hi",
                "--max-tokens", "2", "--temperature", "0", "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(2, r.json().get("ids").size());
    }
}
