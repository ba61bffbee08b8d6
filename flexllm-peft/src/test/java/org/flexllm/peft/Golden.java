package org.flexllm.peft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.Tokenizer;

/** Test assets beside the repository (system property {@code flexllm.shared}), read in place, never copied. */
public final class Golden {
    public static final Path SHARED = Path.of(System.getProperty("flexllm.shared", "../shared"));

    private Golden() {}

    /** The golden model cases that have a LoRA adapter, e.g. {@code golden/models/llama-gqa}. */
    public static List<Path> loraCases() {
        try (Stream<Path> cases = Files.list(SHARED.resolve("golden/models"))) {
            return cases.filter(c -> Files.isDirectory(c.resolve("lora"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ModelConfig model(Path goldenCase) {
        return ModelConfigs.read(goldenCase.resolve("config.json"));
    }

    public static Tokenizer tokenizer(String name) {
        return Tokenizer.load(SHARED.resolve("tokenizers").resolve(name));
    }

    /**
     * The tensors of a safetensors file as parameters whose values are copies in {@code arena}; the gradients
     * are copies of the same-named tensors of {@code grads}, or zero when {@code grads} is null.
     */
    public static List<Parameter> parameters(Path values, Path grads, Arena arena) {
        SafetensorsFile valueFile = SafetensorsFile.open(values, arena);
        SafetensorsFile gradFile = grads == null ? null : SafetensorsFile.open(grads, arena);
        return valueFile.tensors().values().stream()
                .map(t -> new Parameter(t.name(), t.shape(), copy(t, arena),
                        gradFile == null ? arena.allocate(t.data().byteSize(), 4)
                                : copy(gradFile.get(t.name()).orElseThrow(), arena)))
                .toList();
    }

    public static MemorySegment copy(Tensor t, Arena arena) {
        return arena.allocate(t.data().byteSize(), 4).copyFrom(t.data());
    }

    public static float[] floats(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Rows of golden logits, {@code [positions, vocab]}, stored under {@code key} in an adapter case's forward file. */
    public static float[][] forwardLogits(Path adapterDir, String key) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = SafetensorsFile.open(adapterDir.resolve("forward.safetensors"), arena).get(key).orElseThrow();
            int vocab = (int) t.shape().dim(1);
            float[][] rows = new float[t.rows()][];
            for (int r = 0; r < rows.length; r++) {
                rows[r] = floats(t.data().asSlice((long) r * vocab * Float.BYTES, (long) vocab * Float.BYTES));
            }
            return rows;
        }
    }

    /** The first index of the row's largest value: the greedy token. */
    public static int argmax(float[] row) {
        int best = 0;
        for (int v = 1; v < row.length; v++) {
            best = row[v] > row[best] ? v : best;
        }
        return best;
    }
}
