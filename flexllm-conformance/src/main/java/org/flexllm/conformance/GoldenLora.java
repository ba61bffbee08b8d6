package org.flexllm.conformance;

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
import org.flexllm.backend.Backend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.Bypass;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.LoraBypass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.tensor.Tensor;

/** A golden LoRA case (HF PEFT adapter, training example) compiled onto a backend, ready to train. */
final class GoldenLora {
    private static final String PREFIX = "base_model.model.model.layers.";

    private GoldenLora() {}

    /** The golden LoRA adapters: each case's {@code lora} and {@code lora_rslora} folders. */
    static Stream<Path> cases() throws IOException {
        try (Stream<Path> models = Files.list(Shared.resolve("golden/models"))) {
            return models.filter(Files::isDirectory).sorted()
                    .flatMap(m -> Stream.of(m.resolve("lora"), m.resolve("lora_rslora"))).toList().stream();
        }
    }

    /** One golden case loaded: the model compiled with LoRA on all seven projections, slot 0 = the adapter. */
    record Loaded(CompiledModel model, TrainingRunner runner, List<Parameter> parameters, int[] ids, int[] labels,
                  AutoCloseable checkpoint, Backend backend) implements AutoCloseable {
        /** A parameter's gradient, downloaded. */
        float[] grad(Parameter p) {
            return download(p.grad(), p.count());
        }

        /** A parameter's values, downloaded. */
        float[] value(Parameter p) {
            return download(p.value(), p.count());
        }

        private float[] download(MemorySegment buffer, long count) {
            float[] host = new float[Math.toIntExact(count)];
            backend.download(buffer, MemorySegment.ofArray(host), count);
            return host;
        }

        public void close() {
            backend.close();
            try {
                checkpoint.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the base model failed", e);
            }
        }
    }

    /** The golden adapter of {@code dir} on its case's model, on {@code backend} (which the result closes). */
    static Loaded load(Backend backend, Path dir, Pruning pruning) throws IOException {
        Checkpoint checkpoint = Checkpoint.load(dir.getParent());
        return load(backend, dir, pruning, checkpoint.config(), checkpoint.weights(), checkpoint);
    }

    /** The golden adapter of {@code dir} on the base model {@code weights}, which {@code owner} closes. */
    static Loaded load(Backend backend, Path dir, Pruning pruning, ModelConfig config, ModelWeights weights,
                       AutoCloseable owner) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode adapterConfig = json.readTree(dir.resolve("adapter_config.json").toFile());
        JsonNode example = json.readTree(dir.resolve("train_example.json").toFile());
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

    private static String key(int layer, Projection p, String half) {
        String block = p.ordinal() <= Projection.O_PROJ.ordinal() ? "self_attn" : "mlp";
        return PREFIX + layer + "." + block + "." + p.moduleName() + ".lora_" + half + ".weight";
    }

    private static Parameter parameter(Backend backend, Tensor t) {
        MemorySegment value = backend.allocate(t.shape().elements());
        backend.upload(t.data(), value, t.shape().elements());
        return new Parameter(t.name(), t.shape(), value, backend.allocate(t.shape().elements()));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
