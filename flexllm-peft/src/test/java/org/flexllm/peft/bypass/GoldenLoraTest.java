package org.flexllm.peft.bypass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.flexllm.Shared;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** LoRA forward, loss and gradients against the golden float64 references of every case. */
class GoldenLoraTest {
    static final String PREFIX = "base_model.model.model.layers.";

    static Stream<Path> cases() throws IOException {
        try (Stream<Path> models = Files.list(Shared.resolve("golden/models"))) {
            return models.filter(Files::isDirectory).sorted()
                    .flatMap(m -> Stream.of(m.resolve("lora"), m.resolve("lora_rslora"))).toList().stream();
        }
    }

    /** One golden case loaded: the model compiled with LoRA on all seven projections, slot 0 = the adapter. */
    record Loaded(CompiledModel model, TrainingRunner runner, List<Parameter> parameters, int[] ids, int[] labels,
                  AutoCloseable checkpoint, CpuBackend backend) implements AutoCloseable {
        public void close() {
            backend.close();
            try {
                checkpoint.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the base model failed", e);
            }
        }
    }

    static Loaded load(Path dir, Pruning pruning) throws IOException {
        Checkpoint checkpoint = Checkpoint.load(dir.getParent());
        return load(dir, pruning, checkpoint.config(), checkpoint.weights(), checkpoint);
    }

    /** The golden adapter of {@code dir} on the base model {@code weights}, which {@code owner} closes. */
    static Loaded load(Path dir, Pruning pruning, ModelConfig config, ModelWeights weights, AutoCloseable owner)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode adapterConfig = json.readTree(dir.resolve("adapter_config.json").toFile());
        JsonNode example = json.readTree(dir.resolve("train_example.json").toFile());
        CpuBackend backend = new CpuBackend();
        int r = adapterConfig.get("r").asInt();
        double alpha = adapterConfig.get("lora_alpha").asDouble();
        float scale = (float) (adapterConfig.get("use_rslora").asBoolean() ? alpha / Math.sqrt(r) : alpha / r);
        List<Parameter> parameters = new ArrayList<>();
        Bypass[][] bypasses = new Bypass[config.numLayers()][Projection.values().length];
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile file = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"), arena);
            for (int l = 0; l < config.numLayers(); l++) {
                for (Projection p : Projection.values()) {
                    Parameter a = parameter(backend, file.get(key(l, p, "A")).orElseThrow());
                    Parameter b = parameter(backend, file.get(key(l, p, "B")).orElseThrow());
                    parameters.add(a);
                    parameters.add(b);
                    bypasses[l][p.ordinal()] = LoraBypass.of(a, b, scale, 0);
                }
            }
        }
        ResidentAdapters slots = new ResidentAdapters(1, r);
        slots.set(0, new ResidentAdapters.Resident("golden", bypasses));
        var pass = new BypassPass(slots, EnumSet.allOf(Projection.class), Set.of(), Set.of());
        CompiledModel model = CompiledModel.compile(backend, config, weights, List.of(pass), pruning, 64, 128);
        PagedKvCache kv = PagedKvCache.allocate(backend, config, 4, PagedKvCache.bytesPerToken(config) * 64);
        int[] ids = ints(example.get("input_ids"));
        int[] labels = ints(example.get("labels"));
        return new Loaded(model, new TrainingRunner(model, kv, 64), parameters, ids, labels, owner, backend);
    }

    static String key(int layer, Projection p, String half) {
        String block = p.ordinal() <= Projection.O_PROJ.ordinal() ? "self_attn" : "mlp";
        return PREFIX + layer + "." + block + "." + p.moduleName() + ".lora_" + half + ".weight";
    }

    private static Parameter parameter(CpuBackend backend, Tensor t) {
        MemorySegment value = backend.allocate(t.shape().elements());
        value.copyFrom(t.data());
        return new Parameter(t.name(), t.shape(), value, backend.allocate(t.shape().elements()));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsWithTheAdapterMatch(Path dir) throws IOException {
        try (Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            Tensor expected = SafetensorsFile.open(dir.resolve("forward.safetensors"), arena).get("logits").orElseThrow();
            int vocab = c.model().config().vocabSize();
            int[] rows = {0};
            c.runner().logits(c.ids(), 0, (i, logits) -> {
                for (int v = 0; v < vocab; v++) {
                    assertEquals(expected.getFloat((long) i * vocab + v), logits[v], 1e-4, "position " + i + " token " + v);
                }
                rows[0]++;
            });
            assertEquals(c.ids().length, rows[0]);
        }
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> schedules() throws IOException {
        List<org.junit.jupiter.params.provider.Arguments> out = new ArrayList<>();
        for (Path dir : cases().toList()) {
            out.add(org.junit.jupiter.params.provider.Arguments.of(dir, Pruning.PRUNED, 20, 99));
            out.add(org.junit.jupiter.params.provider.Arguments.of(dir, Pruning.PRUNED, 7, 1));
            out.add(org.junit.jupiter.params.provider.Arguments.of(dir, Pruning.KEEP_ALL, 6, 2));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} window {2} slice {3}")
    @MethodSource("schedules")
    void lossAndEveryGradientMatch(Path dir, Pruning pruning, int window, int slice) throws IOException {
        try (Loaded c = load(dir, pruning); Arena arena = Arena.ofConfined()) {
            JsonNode loss = new ObjectMapper().readTree(dir.resolve("loss.json").toFile());
            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            assertEquals(loss.get("num_target_tokens").asInt(), s.targetCount());
            double actual = c.runner().run(s, 0, 1f / s.targetCount(), window, slice);
            assertEquals(loss.get("loss").asDouble(), actual, 1e-5);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (Parameter p : c.parameters()) {
                Tensor expected = grads.get(p.name()).orElseThrow();
                for (long i = 0; i < p.count(); i++) {
                    float got = p.grad().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
                    assertEquals(expected.getFloat(i), got, 2e-5, p.name() + "[" + i + "]");
                }
            }
            assertTrue(c.parameters().size() > 0);
        }
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> rowChunks() throws IOException {
        return cases().flatMap(dir -> Stream.of(1, 3, 8, 20).map(rows ->
                org.junit.jupiter.params.provider.Arguments.of(dir, rows)));
    }

    /**
     * Backward slices smaller than a layer: each layer in chunks of {@code rows} rows (3 and 8 do not divide the
     * 20-token sample), the last chunk first. The gradients equal the whole-layer backward's, and the golden ones.
     */
    @ParameterizedTest(name = "{0} chunks of {1} rows")
    @MethodSource("rowChunks")
    void rowChunkedBackwardMatchesTheWholeLayers(Path dir, int rows) throws IOException {
        try (Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            TrainingSequence whole = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            double wholeLoss = c.runner().run(whole, 0, 1f / whole.targetCount(), 7, 99);
            List<float[]> wholeGrads = c.parameters().stream()
                    .map(p -> p.grad().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).toList();
            c.parameters().forEach(p -> p.grad().fill((byte) 0));

            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            assertEquals(wholeLoss, c.runner().runInRowChunks(s, 0, 1f / s.targetCount(), 7, rows), 1e-6 * wholeLoss);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (int k = 0; k < c.parameters().size(); k++) {
                Parameter p = c.parameters().get(k);
                Tensor golden = grads.get(p.name()).orElseThrow();
                float[] expected = wholeGrads.get(k);
                double largest = 0;
                double worst = 0;
                for (int i = 0; i < p.count(); i++) {
                    float got = p.grad().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
                    largest = Math.max(largest, Math.abs(expected[i]));
                    worst = Math.max(worst, Math.abs(got - expected[i]));
                    assertEquals(golden.getFloat(i), got, 2e-5, p.name() + "[" + i + "] (golden)");
                }
                // Relative to the tensor's largest gradient: chunks sum each entry's rows in another order, and an
                // entry that is a small sum of large terms of both signs carries their rounding.
                assertTrue(worst <= 1e-5 * largest, p.name() + ": the chunks' gradient is off by " + worst
                        + " where the largest is " + largest);
            }
        }
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> optimizerSteps() throws IOException {
        return cases().filter(dir -> dir.getFileName().toString().equals("lora")).flatMap(dir -> Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(dir, "after_sgd.safetensors"),
                org.junit.jupiter.params.provider.Arguments.of(dir, "after_adamw.safetensors")));
    }

    /** The whole step: our gradients, then our optimizer, against the parameters after PyTorch's step. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("optimizerSteps")
    void parametersAfterOneStepFromOurGradientsMatch(Path dir, String expectedFile) throws IOException {
        try (Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            c.runner().run(s, 0, 1f / s.targetCount(), 20, 99);
            boolean sgd = expectedFile.contains("sgd");
            org.flexllm.peft.optim.Optimizer optimizer = sgd ? new org.flexllm.peft.optim.Sgd(c.parameters(), 0, 0)
                    : new org.flexllm.peft.optim.AdamW(c.parameters(), 0.9, 0.999, 1e-8, 0.01);
            optimizer.step(sgd ? 0.1 : 1e-2);
            SafetensorsFile after = SafetensorsFile.open(dir.resolve(expectedFile), arena);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (Parameter p : c.parameters()) {
                Tensor expected = after.get(p.name()).orElseThrow();
                Tensor g = grads.get(p.name()).orElseThrow();
                for (long i = 0; i < p.count(); i++) {
                    double tolerance = sgd || Math.abs(g.getFloat(i)) >= 1e-5 ? 1e-6 : 1e-4;
                    assertEquals(expected.getFloat(i), p.value().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i),
                            tolerance, p.name() + "[" + i + "]");
                }
            }
        }
    }
}
