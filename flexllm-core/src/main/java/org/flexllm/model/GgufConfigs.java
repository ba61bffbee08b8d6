package org.flexllm.model;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;
import org.flexllm.io.GgufFile;
import org.flexllm.io.GgufMetadata;
import org.flexllm.io.GgufMetadataException;
import org.flexllm.tensor.Tensor;

/**
 * Reads a GGUF file's metadata into a {@link ModelConfig}: the {@code ARCH.*} keys of its
 * {@code general.architecture} (llama or qwen2), the vocabulary size from the embedding rows (checked against
 * {@code tokenizer.ggml.tokens}), tied embeddings when there is no {@code output.weight}, biases where the file
 * has bias tensors, and llama.cpp's defaults where a key is absent (rope base 10000, as many kv heads as heads).
 */
final class GgufConfigs {
    static final String ARCHITECTURE = "general.architecture";
    static final String TOKENS = "tokenizer.ggml.tokens";
    private static final double DEFAULT_ROPE_THETA = 10_000;

    private GgufConfigs() {}

    /**
     * The config of {@code file}.
     *
     * @throws UnsupportedArchitectureException  when the architecture is neither llama nor qwen2
     * @throws VocabularyMismatchException       when the token list and the embedding rows differ in number
     * @throws GgufMetadataException             (or its type subclass) naming a missing or mistyped key
     */
    static ModelConfig read(GgufFile file) {
        GgufMetadata m = file.metadata();
        String arch = m.string(ARCHITECTURE);
        Architecture architecture = architecture(file, arch);
        int hidden = m.intAtLeast(arch + ".embedding_length", 1);
        int heads = m.intAtLeast(arch + ".attention.head_count", 1);
        int headDim = m.find(arch + ".attention.key_length").isPresent()
                ? m.intAtLeast(arch + ".attention.key_length", 1) : hidden / heads;
        boolean qkvBias = file.get("blk.0.attn_q.bias").isPresent();
        try {
            return new ModelConfig(
                    architecture,
                    hidden,
                    m.intAtLeast(arch + ".feed_forward_length", 1),
                    m.intAtLeast(arch + ".block_count", 1),
                    heads,
                    m.find(arch + ".attention.head_count_kv").isPresent()
                            ? m.intAtLeast(arch + ".attention.head_count_kv", 1) : heads,
                    headDim,
                    vocabSize(file),
                    (float) m.optionalNumber(arch + ".attention.layer_norm_rms_epsilon")
                            .orElseThrow(() -> missing(file, arch + ".attention.layer_norm_rms_epsilon")),
                    m.optionalNumber(arch + ".rope.freq_base").orElse(DEFAULT_ROPE_THETA),
                    GgufRopeScaling.read(file, arch, headDim,
                            m.optionalNumber(arch + ".rope.freq_base").orElse(DEFAULT_ROPE_THETA)),
                    m.intAtLeast(arch + ".context_length", 1),
                    file.get("output.weight").isEmpty(),
                    qkvBias,
                    file.get("blk.0.attn_output.bias").isPresent(),
                    file.get("blk.0.ffn_gate.bias").isPresent(),
                    id(m, "tokenizer.ggml.bos_token_id"),
                    eosIds(m));
        } catch (IllegalArgumentException e) {
            throw new GgufMetadataException(file.path(), e.getMessage());
        }
    }

    /** The GGUF architecture name of {@code architecture}: llama.cpp writes Mistral as llama. */
    static String name(Architecture architecture) {
        return architecture == Architecture.QWEN2 ? "qwen2" : "llama";
    }

    private static Architecture architecture(GgufFile file, String arch) {
        return switch (arch) {
            case "llama" -> Architecture.LLAMA;
            case "qwen2" -> Architecture.QWEN2;
            default -> throw new UnsupportedArchitectureException(file.path(), arch, List.of("llama", "qwen2"));
        };
    }

    /** The embedding rows; a token list, when present, must have as many entries. */
    private static int vocabSize(GgufFile file) {
        Tensor embed = file.get("token_embd.weight")
                .orElseThrow(() -> new MissingTensorException("token_embd.weight", List.of(file.path())));
        int rows = Math.toIntExact(embed.shape().dim(0));
        List<String> tokens = file.metadata().strings(TOKENS);
        if (!tokens.isEmpty() && tokens.size() != rows) {
            throw new VocabularyMismatchException(file.path() + ": " + TOKENS + " lists " + tokens.size()
                    + " tokens but token_embd.weight has " + rows + " rows; the tokenizer and the weights belong"
                    + " to different models");
        }
        return rows;
    }

    private static int id(GgufMetadata m, String key) {
        long id = m.optionalInteger(key).orElse(-1);
        // llama.cpp writes -1 as UINT32 0xFFFFFFFF for "none".
        return id < 0 || id > Integer.MAX_VALUE ? -1 : (int) id;
    }

    private static List<Integer> eosIds(GgufMetadata m) {
        SequencedSet<Integer> ids = new LinkedHashSet<>();
        for (String key : List.of("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id")) {
            int id = id(m, key);
            if (id >= 0) {
                ids.add(id);
            }
        }
        return List.copyOf(ids);
    }

    private static GgufMetadataException missing(GgufFile file, String key) {
        return new GgufMetadataException(file.path(), "key '" + key + "' is missing");
    }
}
