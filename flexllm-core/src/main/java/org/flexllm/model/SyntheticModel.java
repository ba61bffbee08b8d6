package org.flexllm.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.flexllm.FlexLlmException;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A random-weight model of a real model's shape, built in memory: for benchmarks, demos and tests
 * without downloads. Weights are uniform with the variance that keeps activations of order one
 * ({@code 1/in} for a Linear), norm weights are one. They are stored as bf16 by default, or in any
 * {@link DType}: drawn as f32 a row at a time and rounded or quantized into it (norm weights of a quantized
 * model stay f32, as in llama.cpp's files). Token ids 256 and 257 are BOS and EOS, matching
 * the byte-level tokenizer that goes with these models.
 */
public final class SyntheticModel implements AutoCloseable {
    /** BOS and EOS ids of synthetic models (after the 256 byte tokens). */
    public static final int BOS = 256;
    public static final int EOS = 257;

    private final ModelConfig config;
    private final ModelWeights weights;
    private final Arena arena;

    private SyntheticModel(ModelConfig config, ModelWeights weights, Arena arena) {
        this.config = config;
        this.weights = weights;
        this.arena = arena;
    }

    /** The names {@link #create} accepts. */
    public static List<String> names() {
        return List.of("smollm-135m", "llama-1b", "llama-8b-2l", "tiny");
    }

    /** The shape of the named model: SmolLM-135M, Llama-3.2-1B, Llama-3.1-8B cut to 2 layers, or a tiny test model. */
    public static ModelConfig config(String name) {
        RopeScaling llama32 = RopeScaling.llama3(32, 1, 4, 8192);
        RopeScaling llama31 = RopeScaling.llama3(8, 1, 4, 8192);
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "smollm-135m" -> shape(576, 1536, 30, 9, 3, 49152, 10000, RopeScaling.NONE, 2048, true);
            case "llama-1b" -> shape(2048, 8192, 16, 32, 8, 128256, 500000, llama32, 131072, true);
            case "llama-8b-2l" -> shape(4096, 14336, 2, 32, 8, 128256, 500000, llama31, 131072, false);
            case "tiny" -> shape(64, 160, 2, 4, 2, 512, 10000, RopeScaling.NONE, 1024, true);
            default -> throw new FlexLlmException("unknown synthetic model '" + name + "'; known: " + names());
        };
    }

    private static ModelConfig shape(int hidden, int inter, int layers, int heads, int kvHeads, int vocab,
                                     double theta, RopeScaling scaling, int maxPos, boolean tied) {
        return new ModelConfig(Architecture.LLAMA, hidden, inter, layers, heads, kvHeads, hidden / heads, vocab,
                1e-5f, theta, scaling, maxPos, tied, false, false, false, BOS, List.of(EOS));
    }

    /** Builds the named model with bf16 weights drawn from {@code seed}. */
    public static SyntheticModel create(String name, long seed) {
        return create(name, seed, DType.BF16);
    }

    /**
     * Builds the named model with weights drawn from {@code seed}, stored as {@code dtype}.
     *
     * @throws FlexLlmException when {@code dtype} is quantized and the model's rows are not whole blocks of it
     */
    public static SyntheticModel create(String name, long seed, DType dtype) {
        ModelConfig c = config(name);
        if (c.hiddenSize() % dtype.blockSize() != 0 || c.intermediateSize() % dtype.blockSize() != 0) {
            throw new FlexLlmException("synthetic:" + name + " has rows of " + c.hiddenSize() + " and "
                    + c.intermediateSize() + " weights, not whole " + dtype + " blocks of " + dtype.blockSize());
        }
        Arena arena = Arena.ofShared();
        try {
            return new SyntheticModel(c, new Builder(arena, new SplittableRandom(seed), dtype).build(c), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Draws the tensors of one model. */
    private record Builder(Arena arena, SplittableRandom rng, DType dtype) {
        ModelWeights build(ModelConfig c) {
            Tensor embed = random("model.embed_tokens.weight", c.vocabSize(), c.hiddenSize(), 1.0);
            List<LayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                layers.add(new LayerWeights(
                        ones(p + "input_layernorm.weight", c.hiddenSize()),
                        linear(p + "self_attn.q_proj", c.qDim(), c.hiddenSize()),
                        linear(p + "self_attn.k_proj", c.kvDim(), c.hiddenSize()),
                        linear(p + "self_attn.v_proj", c.kvDim(), c.hiddenSize()),
                        linear(p + "self_attn.o_proj", c.hiddenSize(), c.qDim()),
                        ones(p + "post_attention_layernorm.weight", c.hiddenSize()),
                        linear(p + "mlp.gate_proj", c.intermediateSize(), c.hiddenSize()),
                        linear(p + "mlp.up_proj", c.intermediateSize(), c.hiddenSize()),
                        linear(p + "mlp.down_proj", c.hiddenSize(), c.intermediateSize())));
            }
            Tensor norm = ones("model.norm.weight", c.hiddenSize());
            Tensor head = c.tieWordEmbeddings() ? embed
                    : random("lm_head.weight", c.vocabSize(), c.hiddenSize(), 1.0 / c.hiddenSize());
            return new ModelWeights(embed, layers, norm, head);
        }

        private LinearWeights linear(String name, int out, int in) {
            return new LinearWeights(random(name + ".weight", out, in, 1.0 / in), null);
        }

        private Tensor ones(String name, int dim) {
            DType vectorType = dtype.isQuantized() ? DType.F32 : dtype;
            MemorySegment data = arena.allocate(vectorType.bytes(dim), 64);
            for (int i = 0; i < dim; i++) {
                DTypes.write(vectorType, data, i, 1f);
            }
            return new Tensor(name, vectorType, Shape.of(dim), data);
        }

        /** Uniform in ±sqrt(3·variance), rows filled in parallel from per-row streams split off {@code rng}. */
        private Tensor random(String name, int rows, int cols, double variance) {
            MemorySegment data = arena.allocate(dtype.bytes((long) rows * cols), 64);
            float bound = (float) Math.sqrt(3 * variance);
            long seed = rng.nextLong();
            IntStream.range(0, rows).parallel().forEach(r -> {
                var rowRng = new SplittableRandom(seed + r * 0x9E3779B97F4A7C15L);
                float[] row = new float[cols];
                for (int c = 0; c < cols; c++) {
                    row[c] = (float) rowRng.nextDouble(-1, 1) * bound;
                }
                DTypes.writeRow(dtype, row, data, r);
            });
            return new Tensor(name, dtype, Shape.of(rows, cols), data);
        }
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    @Override
    public void close() {
        arena.close();
    }
}
