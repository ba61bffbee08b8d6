package org.flexllm.model;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.SequencedMap;
import org.flexllm.FlexLlmException;
import org.flexllm.io.GgufMetadata;
import org.flexllm.io.GgufValue;
import org.flexllm.io.GgufWriter;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.GgufTokenizerJson;
import org.flexllm.tokenizer.GgufTokenizerKeys;
import org.flexllm.tokenizer.Tokenizer;

/**
 * Converts a model between a Hugging Face folder and a GGUF file, either way, storing its weights in a chosen
 * dtype. Matrices are rounded or quantized to it, vectors (norm weights, biases) rounded to it; with a quantized
 * dtype vectors stay F32, as in llama.cpp's files, and a matrix whose rows are not whole blocks of it is stored as
 * F16 instead. The tokenizer
 * travels too: into GGUF as llama.cpp's keys plus the whole {@code tokenizer.json}, into a folder as
 * {@code tokenizer.json} and {@code tokenizer_config.json}.
 */
public final class ModelConverter {
    /** The formats written. */
    public enum Format {
        /** A GGUF file. */
        GGUF,
        /** A Hugging Face folder: config.json, model.safetensors and the tokenizer files. */
        SAFETENSORS
    }

    private static final List<String> COPIED_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            Checkpoint.GENERATION_CONFIG_FILE, "special_tokens_map.json", "chat_template.jinja");

    private ModelConverter() {}

    /**
     * Converts the model at {@code model} (a folder, a {@code .gguf} file or a folder holding one) to {@code out}.
     *
     * @throws FlexLlmException     when {@code dtype} cannot be stored in the format (quantized safetensors)
     * @throws UncheckedIOException when a file cannot be read or written
     */
    public static void convert(Path model, Format format, DType dtype, Path out) {
        if (format == Format.SAFETENSORS && dtype.isQuantized()) {
            throw new FlexLlmException("safetensors stores F32, F16 or BF16, not " + dtype
                    + "; write " + dtype + " as GGUF");
        }
        var gguf = GgufCheckpoint.locate(model);
        try (Arena arena = Arena.ofShared();
             MappedModel source = gguf.isPresent() ? GgufCheckpoint.load(gguf.get()) : Checkpoint.load(model)) {
            TokenizerFiles tokenizer = source instanceof GgufCheckpoint g ? new GgufTokenizer(g)
                    : new FolderTokenizer(model);
            switch (format) {
                case GGUF -> GgufWriter.write(out, ggufMetadata(source.config(), tokenizer, out),
                        ggufTensors(source.config(), source.weights(), dtype, arena));
                case SAFETENSORS -> writeFolder(out, source.config(), source.weights(), dtype, tokenizer, arena);
            }
        }
    }

    private static SequencedMap<String, GgufValue> ggufMetadata(ModelConfig c, TokenizerFiles tokenizer, Path out) {
        String arch = GgufConfigs.name(c.architecture());
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufConfigs.ARCHITECTURE, GgufValue.string(arch));
        m.put("general.name", GgufValue.string(out.getFileName().toString().replaceFirst("\\.gguf$", "")));
        m.put(arch + ".context_length", GgufValue.uint32(c.maxPositionEmbeddings()));
        m.put(arch + ".embedding_length", GgufValue.uint32(c.hiddenSize()));
        m.put(arch + ".block_count", GgufValue.uint32(c.numLayers()));
        m.put(arch + ".feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        m.put(arch + ".attention.head_count", GgufValue.uint32(c.numHeads()));
        m.put(arch + ".attention.head_count_kv", GgufValue.uint32(c.numKvHeads()));
        m.put(arch + ".attention.key_length", GgufValue.uint32(c.headDim()));
        m.put(arch + ".attention.value_length", GgufValue.uint32(c.headDim()));
        m.put(arch + ".rope.dimension_count", GgufValue.uint32(c.headDim()));
        m.put(arch + ".attention.layer_norm_rms_epsilon", GgufValue.float32(c.rmsNormEps()));
        m.put(arch + ".rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        m.put(arch + ".vocab_size", GgufValue.uint32(c.vocabSize()));
        ropeScaling(m, arch + ".rope.scaling.", c.ropeScaling());
        if (c.bosTokenId() >= 0) {
            m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(c.bosTokenId()));
        }
        if (!c.eosTokenIds().isEmpty()) {
            m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(c.eosTokenIds().getFirst()));
        }
        m.putAll(tokenizer.ggufKeys());
        return m;
    }

    private static void ropeScaling(SequencedMap<String, GgufValue> m, String prefix, RopeScaling s) {
        if (s.type() == RopeScaling.Type.NONE) {
            return;
        }
        m.put(prefix + "type", GgufValue.string(s.type().name().toLowerCase(Locale.ROOT)));
        m.put(prefix + "factor", GgufValue.float32((float) s.factor()));
        if (s.type() == RopeScaling.Type.LLAMA3) {
            m.put(prefix + "low_freq_factor", GgufValue.float32((float) s.lowFreqFactor()));
            m.put(prefix + "high_freq_factor", GgufValue.float32((float) s.highFreqFactor()));
            m.put(prefix + "original_context_length", GgufValue.uint32(s.originalMaxPositionEmbeddings()));
        }
    }

    /** The weights under GGUF names, q/k rows in llama.cpp's order for its llama layout, stored as asked. */
    private static List<Tensor> ggufTensors(ModelConfig c, ModelWeights weights, DType dtype, Arena arena) {
        boolean llamaLayout = c.architecture() != Architecture.QWEN2;
        List<Tensor> tensors = new ArrayList<>();
        for (Tensor t : hfTensors(weights)) {
            String name = GgufNames.toGguf(t.name()).orElseThrow();
            if (llamaLayout && GgufNames.isQueryOrKey(t.name())) {
                t = RotaryRows.toGguf(t, GgufNames.isKey(t.name()) ? c.numKvHeads() : c.numHeads(), arena);
            }
            DType target = storable(t, dtype);
            Tensor converted = DTypes.convert(t, target, arena);
            tensors.add(new Tensor(name, converted.dtype(), converted.shape(), converted.data()));
        }
        return tensors;
    }

    private static void writeFolder(Path out, ModelConfig c, ModelWeights weights, DType dtype,
            TokenizerFiles tokenizer, Arena arena) {
        try {
            Files.createDirectories(out);
            Files.writeString(out.resolve(Checkpoint.CONFIG_FILE),
                    ModelConfigs.toJson(c, dtype.name().equals("BF16") ? "bfloat16"
                            : dtype == DType.F16 ? "float16" : "float32"));
            tokenizer.writeFiles(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
        List<Tensor> tensors = hfTensors(weights).stream().map(t -> DTypes.convert(t, dtype, arena)).toList();
        SafetensorsWriter.write(out.resolve(CheckpointTensors.SINGLE_FILE), tensors);
    }

    /** {@code dtype}; for a quantized one, F32 for a vector and F16 for a matrix whose rows are not whole blocks. */
    private static DType storable(Tensor t, DType dtype) {
        if (!dtype.isQuantized()) {
            return dtype;
        }
        if (t.shape().rank() == 1) {
            return DType.F32;
        }
        return t.cols() % dtype.blockSize() == 0 ? dtype : DType.F16;
    }

    /** Every distinct tensor under its HF name, a tied lm_head once. */
    static List<Tensor> hfTensors(ModelWeights w) {
        List<Tensor> tensors = new ArrayList<>();
        tensors.add(w.embedTokens());
        for (LayerWeights l : w.layers()) {
            tensors.add(l.inputLayernorm());
            for (LinearWeights linear : List.of(l.qProj(), l.kProj(), l.vProj(), l.oProj())) {
                add(tensors, linear);
            }
            tensors.add(l.postAttentionLayernorm());
            for (LinearWeights linear : List.of(l.gateProj(), l.upProj(), l.downProj())) {
                add(tensors, linear);
            }
        }
        tensors.add(w.norm());
        if (w.lmHead() != w.embedTokens()) {
            tensors.add(w.lmHead());
        }
        return tensors;
    }

    private static void add(List<Tensor> tensors, LinearWeights linear) {
        tensors.add(linear.weight());
        if (linear.hasBias()) {
            tensors.add(linear.bias());
        }
    }

    /** A source model's tokenizer, as GGUF keys and as folder files. */
    private interface TokenizerFiles {
        SequencedMap<String, GgufValue> ggufKeys();

        void writeFiles(Path folder) throws IOException;
    }

    /** A folder's tokenizer files, copied as they are. */
    private record FolderTokenizer(Path source) implements TokenizerFiles {
        @Override
        public SequencedMap<String, GgufValue> ggufKeys() {
            if (!Files.isRegularFile(source.resolve("tokenizer.json"))) {
                return new LinkedHashMap<>();
            }
            return GgufTokenizerKeys.of(source);
        }

        @Override
        public void writeFiles(Path folder) throws IOException {
            for (String name : COPIED_FILES) {
                if (Files.isRegularFile(source.resolve(name))) {
                    Files.copy(source.resolve(name), folder.resolve(name),
                            StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** A GGUF file's tokenizer keys, copied into GGUF, or turned into the equivalent folder files. */
    private record GgufTokenizer(GgufCheckpoint source) implements TokenizerFiles {
        @Override
        public SequencedMap<String, GgufValue> ggufKeys() {
            SequencedMap<String, GgufValue> keys = new LinkedHashMap<>();
            source.file().metadata().values().forEach((key, value) -> {
                if (key.startsWith("tokenizer.")) {
                    keys.put(key, value);
                }
            });
            return keys;
        }

        @Override
        public void writeFiles(Path folder) throws IOException {
            GgufMetadata m = source.file().metadata();
            if (m.find("tokenizer.ggml.model").isEmpty() && m.find(GgufTokenizerJson.HF_JSON).isEmpty()) {
                return;
            }
            Files.writeString(folder.resolve("tokenizer.json"), GgufTokenizerJson.of(m).toPrettyString());
            Tokenizer tokenizer = Tokenizer.fromGguf(m);
            var config = JsonNodeFactory.instance.objectNode();
            tokenizer.bosId().ifPresent(id -> config.put("bos_token", tokenizer.token(id)));
            tokenizer.eosId().ifPresent(id -> config.put("eos_token", tokenizer.token(id)));
            m.optionalString("tokenizer.chat_template").ifPresent(t -> config.put("chat_template", t));
            Files.writeString(folder.resolve("tokenizer_config.json"), config.toPrettyString());
        }
    }
}
