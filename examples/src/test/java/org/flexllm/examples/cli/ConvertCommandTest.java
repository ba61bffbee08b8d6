package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code flexllm convert} to GGUF and back, then served by {@code generate}. */
class ConvertCommandTest {
    @TempDir
    Path dir;

    @Test
    void aFolderConvertedToGgufGeneratesTheSameTokens() {
        Path gguf = dir.resolve("stories.gguf");
        Cli.Result convert = Cli.run("convert", "--model", Cli.STORIES.toString(), "--to", "gguf", "--dtype", "f32",
                "--out", gguf.toString());
        assertEquals(0, convert.exitCode(), convert.err());
        assertEquals(gguf.toString(), convert.out().strip());
        String[] generate = {"generate", "--prompt", "Once upon a time", "--max-tokens", "24", "--temperature", "0",
            "--json", "--model"};
        Cli.Result fromFolder = Cli.run(append(generate, Cli.STORIES.toString()));
        Cli.Result fromGguf = Cli.run(append(generate, gguf.toString()));
        assertEquals(0, fromGguf.exitCode(), fromGguf.err());
        assertEquals(fromFolder.json().get("ids"), fromGguf.json().get("ids"));
        assertEquals(fromFolder.json().get("text"), fromGguf.json().get("text"));
    }

    @Test
    void aQuantizedGgufConvertsBackToAFolder() {
        Path gguf = dir.resolve("q8.gguf");
        assertEquals(0, Cli.run("convert", "--model", Cli.STORIES.toString(), "--to", "gguf", "--dtype", "q8_0",
                "--out", gguf.toString()).exitCode());
        Path folder = dir.resolve("back");
        Cli.Result back = Cli.run("convert", "--model", gguf.toString(), "--to", "safetensors", "--dtype", "bf16",
                "--out", folder.toString());
        assertEquals(0, back.exitCode(), back.err());
        for (String file : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertTrue(Files.isRegularFile(folder.resolve(file)), file);
        }
        Cli.Result generated = Cli.run("generate", "--model", folder.toString(), "--prompt", "Once", "--max-tokens",
                "8", "--json");
        assertEquals(0, generated.exitCode(), generated.err());
    }

    @Test
    void quantizedSafetensorsIsAnError() {
        Cli.Result r = Cli.run("convert", "--model", Cli.STORIES.toString(), "--to", "safetensors", "--dtype", "q4_0",
                "--out", dir.resolve("x").toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("GGUF"), r.err());
    }

    private static String[] append(String[] args, String last) {
        String[] all = Arrays.copyOf(args, args.length + 1);
        all[args.length] = last;
        return all;
    }
}
