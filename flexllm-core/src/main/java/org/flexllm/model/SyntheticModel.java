package org.flexllm.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * A random-weight bf16 model of a real model's shape, built in memory: for benchmarks, demos and tests
 * without downloads. Weights are uniform with the variance that keeps activations of order one
 * ({@code 1/in} for a Linear), norm weights are one. Token ids 256 and 257 are BOS and EOS, matching
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

    /** Builds the named model with weights drawn from {@code seed}. */
    public static SyntheticModel create(String name, long seed) {
        ModelConfig c = config(name);
        Arena arena = Arena.ofShared();
        var rng = new SplittableRandom(seed);
        Tensor embed = random(arena, rng, "model.embed_tokens.weight", c.vocabSize(), c.hiddenSize(), 1.0);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            layers.add(new LayerWeights(
                    ones(arena, p + "input_layernorm.weight", c.hiddenSize()),
                    linear(arena, rng, p + "self_attn.q_proj", c.qDim(), c.hiddenSize()),
                    linear(arena, rng, p + "self_attn.k_proj", c.kvDim(), c.hiddenSize()),
                    linear(arena, rng, p + "self_attn.v_proj", c.kvDim(), c.hiddenSize()),
                    linear(arena, rng, p + "self_attn.o_proj", c.hiddenSize(), c.qDim()),
                    ones(arena, p + "post_attention_layernorm.weight", c.hiddenSize()),
                    linear(arena, rng, p + "mlp.gate_proj", c.intermediateSize(), c.hiddenSize()),
                    linear(arena, rng, p + "mlp.up_proj", c.intermediateSize(), c.hiddenSize()),
                    linear(arena, rng, p + "mlp.down_proj", c.hiddenSize(), c.intermediateSize())));
        }
        Tensor norm = ones(arena, "model.norm.weight", c.hiddenSize());
        Tensor head = c.tieWordEmbeddings() ? embed
                : random(arena, rng, "lm_head.weight", c.vocabSize(), c.hiddenSize(), 1.0 / c.hiddenSize());
        return new SyntheticModel(c, new ModelWeights(embed, layers, norm, head), arena);
    }

    private static LinearWeights linear(Arena arena, SplittableRandom rng, String name, int out, int in) {
        return new LinearWeights(random(arena, rng, name + ".weight", out, in, 1.0 / in), null);
    }

    private static Tensor ones(Arena arena, String name, int dim) {
        MemorySegment data = arena.allocate((long) dim * 2, 64);
        for (int i = 0; i < dim; i++) {
            DTypes.write(DType.BF16, data, i, 1f);
        }
        return new Tensor(name, DType.BF16, Shape.of(dim), data);
    }

    /** Uniform in ±sqrt(3·variance), rows filled in parallel from per-row streams split off {@code rng}. */
    private static Tensor random(Arena arena, SplittableRandom rng, String name, int rows, int cols, double variance) {
        MemorySegment data = arena.allocate((long) rows * cols * 2, 64);
        float bound = (float) Math.sqrt(3 * variance);
        long seed = rng.nextLong();
        IntStream.range(0, rows).parallel().forEach(r -> {
            var rowRng = new SplittableRandom(seed + r * 0x9E3779B97F4A7C15L);
            long base = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                float u = (float) rowRng.nextDouble(-1, 1) * bound;
                data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + c, DTypes.floatToBf16(u));
            }
        });
        return new Tensor(name, DType.BF16, Shape.of(rows, cols), data);
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
