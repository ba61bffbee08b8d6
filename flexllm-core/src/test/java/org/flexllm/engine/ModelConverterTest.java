package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.flexllm.GoldenCase;
import org.flexllm.FlexLlmException;
import org.flexllm.Shared;
import org.flexllm.api.LoadedModel;
import org.flexllm.io.GgufFile;
import org.flexllm.io.GgufValue;
import org.flexllm.io.GgufWriter;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.model.Architecture;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.model.ModelConverter;
import org.flexllm.model.ModelConverter.Format;
import org.flexllm.model.Rope;
import org.flexllm.model.RopeScaling;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code convert} both ways: every golden model written to GGUF as F32, F16 and BF16 gives the logits of the
 * same weights as safetensors (and of the float64 references where the weights are exactly theirs); quantized
 * GGUF models give the logits of their dequantized weights.
 */
class ModelConverterTest {
    private static final double ATOL = 1e-4;

    @TempDir
    Path dir;

    static Stream<Arguments> goldenAndDtypes() {
        List<Arguments> cases = new ArrayList<>();
        GoldenCase.all().forEach(g -> {
            for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16)) {
                cases.add(Arguments.of(g, dtype));
            }
        });
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("goldenAndDtypes")
    void goldenModelsAsGgufMatchTheirSafetensorsLogits(GoldenCase golden, DType dtype) throws IOException {
        Path gguf = dir.resolve("model.gguf");
        Path folder = dir.resolve("folder");
        ModelConverter.convert(golden.folder(), Format.GGUF, dtype, gguf);
        ModelConverter.convert(golden.folder(), Format.SAFETENSORS, dtype, folder);
        JsonNode prompts = golden.inputs().get("prompts");
        try (Arena arena = Arena.ofConfined()) {
            var reference = SafetensorsFile.open(golden.caseDir().resolve("reference/logits.safetensors"), arena);
            // F32 keeps the folder's weights; BF16 rounds f32 weights to the bf16 twin's, and keeps bf16 ones.
            boolean exact = dtype == DType.F32 || dtype == DType.BF16;
            String key = golden.bf16() || dtype == DType.BF16 ? "logits_bf16" : "logits";
            for (int i = 0; i < prompts.size(); i++) {
                int[] ids = GoldenCase.ids(prompts.get(i));
                List<float[]> fromGguf = logits(gguf, ids);
                GgufModelTest.assertLogitsClose(logits(folder, ids), fromGguf, ATOL, golden + " " + dtype);
                if (exact) {
                    GgufModelTest.assertLogitsClose(rows(reference.get(key + "." + i).orElseThrow()), fromGguf, ATOL,
                            golden + " " + dtype + " against the reference");
                }
            }
        }
        try (LoadedModel hf = LoadedModel.open(golden.folder().toString());
             LoadedModel back = LoadedModel.open(gguf.toString())) {
            assertEquals(hf.config(), back.config());
        }
    }

    static Stream<Arguments> quantized() {
        return Stream.of(Arguments.of(DType.Q8_0, 256, 0.03), Arguments.of(DType.Q4_0, 256, 0.4),
                Arguments.of(DType.Q4_K, 256, 0.4), Arguments.of(DType.Q6_K, 256, 0.1));
    }

    /** A quantized GGUF against the same file dequantized to an F32 folder: the kernels decode what was written. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("quantized")
    void quantizedModelsGiveTheLogitsOfTheirDequantizedWeights(DType dtype, int hidden, double loose) throws IOException {
        Path source = randomFolder(hidden);
        Path gguf = dir.resolve("quantized.gguf");
        Path dequantized = dir.resolve("dequantized");
        ModelConverter.convert(source, Format.GGUF, dtype, gguf);
        ModelConverter.convert(gguf, Format.SAFETENSORS, DType.F32, dequantized);
        try (LoadedModel q = LoadedModel.open(gguf.toString())) {
            assertEquals(dtype, q.weights().layers().getFirst().qProj().weight().dtype());
            assertEquals(dtype, q.weights().lmHead().dtype());
        }
        int[] ids = {1, 5, 9, 200, 7, 3, 3, 150, 42, 0, 299};
        GgufModelTest.assertLogitsClose(logits(dequantized, ids), logits(gguf, ids), ATOL, dtype.name());
        // And they stay near the unquantized model's (a loose check that quantization kept the weights; measured
        // relative RMS: Q8_0 0.018, Q6_K 0.068, Q4_K 0.28, Q4_0 0.35 on this random model).
        assertRoughlyEqual(logits(source, ids), logits(gguf, ids), dtype, loose);
    }

    @Test
    void storiesGgufConvertsToAFolderWithItsTokenizerAndBack() {
        Path folder = dir.resolve("stories");
        ModelConverter.convert(GgufModelTest.GGUF_FOLDER, Format.SAFETENSORS, DType.F32, folder);
        Path gguf = dir.resolve("stories.gguf");
        ModelConverter.convert(folder, Format.GGUF, DType.F32, gguf);
        int[] ids = GgufModelTest.SEQUENCE;
        GgufModelTest.assertLogitsClose(logits(GgufModelTest.FOLDER, ids), logits(folder, ids), ATOL, "folder");
        GgufModelTest.assertLogitsClose(logits(GgufModelTest.FOLDER, ids), logits(gguf, ids), ATOL, "gguf again");
        try (LoadedModel hf = LoadedModel.open(GgufModelTest.FOLDER.toString());
             LoadedModel converted = LoadedModel.open(folder.toString());
             LoadedModel again = LoadedModel.open(gguf.toString())) {
            for (String text : List.of("Once upon a time, a little bird", "Tom said: \"no!\"\n\nThe end.")) {
                String expected = Arrays.toString(hf.tokenizer().encode(text, true));
                assertEquals(expected, Arrays.toString(converted.tokenizer().encode(text, true)));
                assertEquals(expected, Arrays.toString(again.tokenizer().encode(text, true)));
            }
        }
    }

    /** llama.cpp writes Llama 3 rope scaling as a tensor of per-frequency divisors, not as keys. */
    @Test
    void llamaCppsRopeFreqsTensorReadsAsLlama3Scaling() {
        Path ours = dir.resolve("keys.gguf");
        ModelConverter.convert(Shared.resolve("golden/models/llama3-rope-scaling"), Format.GGUF, DType.F32, ours);
        Path theirs = dir.resolve("rope_freqs.gguf");
        try (Arena arena = Arena.ofShared(); LoadedModel expected = LoadedModel.open(ours.toString())) {
            GgufFile file = GgufFile.open(ours, arena);
            SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(file.metadata().values());
            metadata.keySet().removeIf(key -> key.startsWith("llama.rope.scaling."));
            ModelConfig c = expected.config();
            double[] plain = Rope.inverseFrequencies(c.headDim(), c.ropeTheta(), RopeScaling.NONE);
            double[] scaled = Rope.inverseFrequencies(c.headDim(), c.ropeTheta(), c.ropeScaling());
            var divisors = arena.allocate((long) plain.length * Float.BYTES);
            for (int i = 0; i < plain.length; i++) {
                DTypes.write(DType.F32, divisors, i, (float) (plain[i] / scaled[i]));
            }
            List<Tensor> tensors = new ArrayList<>(file.tensors().values());
            tensors.add(new Tensor("rope_freqs.weight", DType.F32, Shape.of(plain.length), divisors));
            GgufWriter.write(theirs, metadata, tensors);
            try (LoadedModel actual = LoadedModel.open(theirs.toString())) {
                assertEquals(c.ropeScaling(), actual.config().ropeScaling());
            }
        }
    }

    @Test
    void quantizedSafetensorsAreRefused() {
        assertThrows(FlexLlmException.class,
                () -> ModelConverter.convert(GgufModelTest.FOLDER, Format.SAFETENSORS, DType.Q8_0, dir.resolve("x")));
    }

    private static List<float[]> logits(Path model, int[] ids) {
        try (LoadedModel m = LoadedModel.open(model.toString());
             var runner = new SingleSequence(m.config(), m.weights(), ids.length)) {
            return runner.logits(ids, 4);
        }
    }

    private static void assertRoughlyEqual(List<float[]> expected, List<float[]> actual, DType dtype, double loose) {
        double diff = 0;
        double norm = 0;
        for (int t = 0; t < expected.size(); t++) {
            for (int v = 0; v < expected.get(t).length; v++) {
                diff += Math.pow(expected.get(t)[v] - actual.get(t)[v], 2);
                norm += Math.pow(expected.get(t)[v], 2);
            }
        }
        double relative = Math.sqrt(diff / norm);
        if (relative > loose) {
            throw new AssertionError(dtype + ": logits differ from the f32 model's by " + relative + " > " + loose);
        }
    }

    /** A random llama folder (F32) whose rows are whole blocks of {@code hidden}, with untied embeddings. */
    private Path randomFolder(int hidden) throws IOException {
        int heads = 4;
        ModelConfig c = new ModelConfig(Architecture.LLAMA, hidden, 2 * hidden, 2, heads, 2, hidden / heads, 300,
                1e-5f, 10000, RopeScaling.NONE, 128, false, false, false, false, 1, List.of(2));
        Path folder = Files.createDirectories(dir.resolve("random"));
        Files.writeString(folder.resolve("config.json"), ModelConfigs.toJson(c, "float32"));
        Random random = new Random(hidden);
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> tensors = new ArrayList<>();
            tensors.add(random(arena, random, "model.embed_tokens.weight", 0.5, c.vocabSize(), hidden));
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                tensors.add(random(arena, random, p + "input_layernorm.weight", 1, hidden));
                tensors.add(random(arena, random, p + "self_attn.q_proj.weight", 0.1, c.qDim(), hidden));
                tensors.add(random(arena, random, p + "self_attn.k_proj.weight", 0.1, c.kvDim(), hidden));
                tensors.add(random(arena, random, p + "self_attn.v_proj.weight", 0.1, c.kvDim(), hidden));
                tensors.add(random(arena, random, p + "self_attn.o_proj.weight", 0.1, hidden, c.qDim()));
                tensors.add(random(arena, random, p + "post_attention_layernorm.weight", 1, hidden));
                tensors.add(random(arena, random, p + "mlp.gate_proj.weight", 0.1, c.intermediateSize(), hidden));
                tensors.add(random(arena, random, p + "mlp.up_proj.weight", 0.1, c.intermediateSize(), hidden));
                tensors.add(random(arena, random, p + "mlp.down_proj.weight", 0.1, hidden, c.intermediateSize()));
            }
            tensors.add(random(arena, random, "model.norm.weight", 1, hidden));
            tensors.add(random(arena, random, "lm_head.weight", 0.1, c.vocabSize(), hidden));
            SafetensorsWriter.write(folder.resolve("model.safetensors"), tensors);
        }
        return folder;
    }

    /** Uniform values of standard deviation {@code std} (norm weights, {@code std} 1: around one). */
    private static Tensor random(Arena arena, Random random, String name, double std, long... dims) {
        Shape shape = Shape.of(dims);
        var data = arena.allocate(shape.elements() * Float.BYTES);
        for (long i = 0; i < shape.elements(); i++) {
            double u = (random.nextDouble() * 2 - 1) * Math.sqrt(3) * std;
            DTypes.write(DType.F32, data, i, (float) (dims.length == 1 ? 1 + 0.1 * u : u));
        }
        return new Tensor(name, DType.F32, shape, data);
    }

    /** The rows of a {@code [positions, vocab]} reference. */
    private static List<float[]> rows(Tensor t) {
        List<float[]> rows = new ArrayList<>();
        for (int r = 0; r < t.rows(); r++) {
            float[] row = new float[t.cols()];
            for (int v = 0; v < row.length; v++) {
                row[v] = t.getFloat((long) r * t.cols() + v);
            }
            rows.add(row);
        }
        return rows;
    }
}
