package org.flexllm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.flexllm.io.InvalidSafetensorsException;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointTest {
    private static final Path LLAMA = GoldenModels.golden("llama-gqa");

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** Every bound tensor, the tied lm_head included as its own entry. */
    private static Stream<Tensor> tensors(ModelWeights w) {
        Stream<Tensor> layers = w.layers().stream().flatMap(l -> Stream.concat(
                Stream.of(l.inputLayernorm(), l.postAttentionLayernorm()),
                Stream.of(l.qProj(), l.kProj(), l.vProj(), l.oProj(), l.gateProj(), l.upProj(), l.downProj())
                        .flatMap(linear -> Stream.of(linear.weight(), linear.bias()))));
        return Stream.concat(Stream.of(w.embedTokens(), w.norm(), w.lmHead()), layers)
                .filter(Objects::nonNull);
    }

    private List<Tensor> goldenTensors(Path folder) {
        return List.copyOf(SafetensorsFile.open(folder.resolve("model.safetensors"), arena).tensors().values());
    }

    /** A model folder in the temp dir with {@code source}'s config.json and {@code tensors} as its weights. */
    private Path folder(Path source, List<Tensor> tensors) throws IOException {
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors);
        return dir;
    }

    private static List<Tensor> without(List<Tensor> tensors, String name) {
        return tensors.stream().filter(t -> !t.name().equals(name)).toList();
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' does not mention " + part);
        }
    }

    private Path garbage(String name) throws IOException {
        return Files.writeString(dir.resolve(name), "this is not a safetensors file");
    }

    static Stream<Path> sharedFolders() {
        return Stream.concat(GoldenModels.goldenFolders(), Stream.of(GoldenModels.STORIES));
    }

    @ParameterizedTest
    @MethodSource("sharedFolders")
    void loadsEverySharedFolder(Path folder) throws IOException {
        String torchDtype = new ObjectMapper().readTree(folder.resolve("config.json").toFile())
                .get("torch_dtype").asText();
        DType stored = torchDtype.equals("bfloat16") ? DType.BF16 : DType.F32;
        try (Checkpoint checkpoint = Checkpoint.load(folder)) {
            ModelConfig config = checkpoint.config();
            assertEquals(folder, checkpoint.folder());
            assertEquals(ModelConfigs.read(folder.resolve("config.json"), checkpoint.generationDefaults()), config);
            ModelWeights weights = checkpoint.weights();
            assertEquals(config.numLayers(), weights.layers().size());
            assertEquals(config.tieWordEmbeddings(), weights.lmHead() == weights.embedTokens());
            tensors(weights).forEach(t -> {
                assertEquals(stored, t.dtype(), t.name());
                assertTrue(t.data().isMapped(), t.name() + " must be a view of the mapped file");
            });
            long fileBytes = goldenTensors(folder).stream().mapToLong(t -> t.data().byteSize()).sum();
            assertEquals(fileBytes, checkpoint.weightBytes(), "every stored tensor is bound, each once");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "qwen2-bias-tied", "llama3-rope-scaling"})
    void bf16FolderHoldsTheF32WeightsRounded(String name) {
        try (Checkpoint f32 = Checkpoint.load(GoldenModels.golden(name));
             Checkpoint bf16 = Checkpoint.load(GoldenModels.golden(name).resolve("bf16"))) {
            List<Tensor> wide = tensors(f32.weights()).toList();
            List<Tensor> narrow = tensors(bf16.weights()).toList();
            assertEquals(wide.size(), narrow.size());
            for (int t = 0; t < wide.size(); t++) {
                Tensor w = wide.get(t);
                Tensor n = narrow.get(t);
                assertEquals(w.name(), n.name());
                for (long i = 0; i < w.shape().elements(); i++) {
                    short expected = DTypes.floatToBf16(w.getFloat(i));
                    short actual = n.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
                    assertEquals(expected, actual, w.name() + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void qwen2HasQkvBiasesOnly() {
        try (Checkpoint checkpoint = Checkpoint.load(GoldenModels.golden("qwen2-bias-tied"))) {
            for (LayerWeights layer : checkpoint.weights().layers()) {
                assertTrue(layer.qProj().hasBias() && layer.kProj().hasBias() && layer.vProj().hasBias());
                assertNull(layer.oProj().bias());
                assertEquals(checkpoint.config().kvDim(), layer.kProj().bias().cols());
            }
        }
    }

    /** The HF conversion of stories260K must bind the same numbers llama2.c's own checkpoint holds. */
    @Test
    void storiesMatchesTheLlama2cCheckpoint() throws IOException {
        Path original = GoldenModels.STORIES.resolve("original/stories260K.bin");
        try (Checkpoint checkpoint = Checkpoint.load(GoldenModels.STORIES);
             FileChannel channel = FileChannel.open(original, StandardOpenOption.READ)) {
            MemorySegment bin = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            ModelConfig c = checkpoint.config();
            ModelWeights w = checkpoint.weights();
            int layers = c.numLayers();
            // llama2.c's layout: a 7-int header, then each kind of weight for all layers in turn.
            Llama2cCursor cursor = new Llama2cCursor(bin, 7 * 4);
            cursor.expect(List.of(w.embedTokens()));
            cursor.expect(w.layers().stream().map(LayerWeights::inputLayernorm).toList());
            cursor.skip((long) layers * (2L * c.qDim() + 2L * c.kvDim()) * c.hiddenSize());
            cursor.expect(w.layers().stream().map(LayerWeights::postAttentionLayernorm).toList());
            cursor.expect(w.layers().stream().map(l -> l.gateProj().weight()).toList());
            cursor.expect(w.layers().stream().map(l -> l.downProj().weight()).toList());
            cursor.expect(w.layers().stream().map(l -> l.upProj().weight()).toList());
            cursor.expect(List.of(w.norm()));
        }
    }

    /** Walks a llama2.c checkpoint, comparing each run of floats with the tensors it should equal. */
    private static final class Llama2cCursor {
        private final MemorySegment bin;
        private long offset;

        Llama2cCursor(MemorySegment bin, long offset) {
            this.bin = bin;
            this.offset = offset;
        }

        void skip(long floats) {
            offset += floats * Float.BYTES;
        }

        void expect(List<Tensor> tensors) {
            for (Tensor t : tensors) {
                long bytes = t.data().byteSize();
                assertEquals(-1, bin.asSlice(offset, bytes).mismatch(t.data()), t.name());
                offset += bytes;
            }
        }
    }

    @Test
    void closeUnmapsTheWeights() {
        Checkpoint checkpoint = Checkpoint.load(LLAMA);
        Tensor embed = checkpoint.weights().embedTokens();
        checkpoint.close();
        assertThrows(IllegalStateException.class, () -> embed.getFloat(0));
        checkpoint.close();
    }

    @Test
    void otherSafetensorsFilesAreNeverRead() throws IOException {
        List<Tensor> tensors = goldenTensors(LLAMA);
        Path folder = folder(LLAMA, tensors);
        garbage("adapter_model.safetensors");
        garbage("consolidated.safetensors");
        try (Checkpoint checkpoint = Checkpoint.load(folder)) {
            assertEquals(tensors.stream().mapToLong(t -> t.data().byteSize()).sum(), checkpoint.weightBytes());
        }
    }

    @Test
    void shardedCheckpointLoadsTheSameTensors() throws IOException {
        List<Tensor> all = goldenTensors(LLAMA);
        List<List<Tensor>> shards = List.of(all.subList(0, all.size() / 2), all.subList(all.size() / 2, all.size()));
        ObjectNode index = new ObjectMapper().createObjectNode();
        index.putObject("metadata").put("total_size", all.stream().mapToLong(t -> t.data().byteSize()).sum());
        ObjectNode weightMap = index.putObject("weight_map");
        for (int s = 0; s < shards.size(); s++) {
            String shardName = "model-%05d-of-%05d.safetensors".formatted(s + 1, shards.size());
            SafetensorsWriter.write(dir.resolve(shardName), shards.get(s));
            shards.get(s).forEach(t -> weightMap.put(t.name(), shardName));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        Files.copy(LLAMA.resolve("config.json"), dir.resolve("config.json"));
        // The index wins over a single-file checkpoint beside it, and strays are not opened.
        garbage("model.safetensors");
        garbage("stray.safetensors");

        try (Checkpoint sharded = Checkpoint.load(dir); Checkpoint single = Checkpoint.load(LLAMA)) {
            assertEquals(single.config(), sharded.config());
            assertEquals(single.weightBytes(), sharded.weightBytes());
            List<Tensor> expected = tensors(single.weights()).toList();
            List<Tensor> actual = tensors(sharded.weights()).toList();
            assertEquals(expected.size(), actual.size());
            for (int i = 0; i < expected.size(); i++) {
                assertEquals(expected.get(i).name(), actual.get(i).name());
                assertEquals(expected.get(i).shape(), actual.get(i).shape());
                assertEquals(-1, expected.get(i).data().mismatch(actual.get(i).data()), expected.get(i).name());
            }
        }
    }

    @Test
    void mixedDtypesKeepTheirStoredType() throws IOException {
        List<Tensor> mixed = goldenTensors(LLAMA).stream()
                .map(t -> t.name().equals("model.norm.weight") ? t
                        : convert(t, t.shape().rank() == 2 ? DType.BF16 : DType.F16))
                .toList();
        try (Checkpoint checkpoint = Checkpoint.load(folder(LLAMA, mixed))) {
            ModelWeights w = checkpoint.weights();
            assertEquals(DType.BF16, w.embedTokens().dtype());
            assertEquals(DType.F32, w.norm().dtype());
            assertEquals(DType.F16, w.layers().get(1).inputLayernorm().dtype());
            assertEquals(DType.BF16, w.layers().get(1).downProj().weight().dtype());
            assertEquals(mixed.stream().mapToLong(t -> t.data().byteSize()).sum(), checkpoint.weightBytes());
        }
    }

    private static Tensor convert(Tensor t, DType dtype) {
        MemorySegment data = MemorySegment.ofArray(new byte[Math.toIntExact(t.shape().elements() * dtype.byteSize())]);
        for (long i = 0; i < t.shape().elements(); i++) {
            DTypes.write(dtype, data, i, t.getFloat(i));
        }
        return new Tensor(t.name(), dtype, t.shape(), data);
    }

    @Test
    void missingTensor() throws IOException {
        Path folder = folder(LLAMA, without(goldenTensors(LLAMA), "model.layers.1.mlp.down_proj.weight"));
        var e = assertThrows(MissingTensorException.class, () -> Checkpoint.load(folder));
        assertMentions(e, "'model.layers.1.mlp.down_proj.weight'", folder.resolve("model.safetensors").toString());
    }

    @Test
    void missingLmHeadWhenNotTied() throws IOException {
        Path folder = folder(LLAMA, without(goldenTensors(LLAMA), "lm_head.weight"));
        assertMentions(assertThrows(MissingTensorException.class, () -> Checkpoint.load(folder)), "'lm_head.weight'");
    }

    @Test
    void missingQwen2Bias() throws IOException {
        Path qwen = GoldenModels.golden("qwen2-bias-tied");
        Path folder = folder(qwen, without(goldenTensors(qwen), "model.layers.2.self_attn.k_proj.bias"));
        var e = assertThrows(MissingTensorException.class, () -> Checkpoint.load(folder));
        assertMentions(e, "'model.layers.2.self_attn.k_proj.bias'");
    }

    @Test
    void tensorOfTheWrongShape() throws IOException {
        String name = "model.layers.0.mlp.up_proj.weight";
        List<Tensor> tensors = goldenTensors(LLAMA).stream()
                .map(t -> t.name().equals(name) ? new Tensor(name, t.dtype(), Shape.of(64, 160), t.data()) : t)
                .toList();
        Path folder = folder(LLAMA, tensors);
        var e = assertThrows(TensorShapeException.class, () -> Checkpoint.load(folder));
        assertMentions(e, "'" + name + "'", "[64, 160]", "[160, 64]", folder.resolve("model.safetensors").toString());
    }

    @Test
    void corruptWeightFile() throws IOException {
        Files.copy(LLAMA.resolve("config.json"), dir.resolve("config.json"));
        Path weights = garbage("model.safetensors");
        var e = assertThrows(InvalidSafetensorsException.class, () -> Checkpoint.load(dir));
        assertMentions(e, weights.toString());
    }

    @Test
    void folderWithoutConfig() {
        assertMentions(assertThrows(InvalidCheckpointException.class, () -> Checkpoint.load(dir)), "config.json",
                dir.toString());
    }

    @Test
    void folderWithoutWeights() throws IOException {
        Files.copy(LLAMA.resolve("config.json"), dir.resolve("config.json"));
        garbage("pytorch_model.safetensors");
        var e = assertThrows(InvalidCheckpointException.class, () -> Checkpoint.load(dir));
        assertMentions(e, "model.safetensors", "model.safetensors.index.json", dir.toString());
    }

    private void index(Map<String, String> weightMap) throws IOException {
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        Files.copy(LLAMA.resolve("config.json"), dir.resolve("config.json"));
    }

    @Test
    void indexNamingAMissingShard() throws IOException {
        index(Map.of("model.norm.weight", "model-00002-of-00002.safetensors"));
        var e = assertThrows(InvalidCheckpointException.class, () -> Checkpoint.load(dir));
        assertMentions(e, "model.safetensors.index.json", "model-00002-of-00002.safetensors", "model.norm.weight");
    }

    @Test
    void indexNamingAFileOutsideTheFolder() throws IOException {
        Path inside = Files.createDirectory(dir.resolve("model"));
        SafetensorsWriter.write(dir.resolve("outside.safetensors"), goldenTensors(LLAMA));
        Files.writeString(inside.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"model.norm.weight\": \"../outside.safetensors\"}}");
        Files.copy(LLAMA.resolve("config.json"), inside.resolve("config.json"));
        var e = assertThrows(InvalidCheckpointException.class, () -> Checkpoint.load(inside));
        assertMentions(e, "../outside.safetensors");
    }

    @Test
    void tensorInTwoShards() throws IOException {
        List<Tensor> all = goldenTensors(LLAMA);
        SafetensorsWriter.write(dir.resolve("a.safetensors"), all);
        SafetensorsWriter.write(dir.resolve("b.safetensors"), all.subList(0, 1));
        index(Map.of("model.norm.weight", "a.safetensors", all.getFirst().name(), "b.safetensors"));
        var e = assertThrows(InvalidCheckpointException.class, () -> Checkpoint.load(dir));
        assertMentions(e, "'" + all.getFirst().name() + "'", "a.safetensors", "b.safetensors");
    }

    @Test
    void unsupportedArchitecture() throws IOException {
        Files.writeString(dir.resolve("config.json"),
                "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"]}");
        var e = assertThrows(UnsupportedArchitectureException.class, () -> Checkpoint.load(dir));
        assertMentions(e, "gpt2", "LlamaForCausalLM");
    }
}
