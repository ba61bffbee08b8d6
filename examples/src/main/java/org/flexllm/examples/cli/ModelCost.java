package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.Optional;
import org.flexllm.api.EngineBuilder;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.GgufCheckpoint;
import org.flexllm.model.MappedModel;
import org.flexllm.model.ModelConfig;
import org.flexllm.tensor.DType;

/**
 * What a forward pass costs a model, for turning token rates into bandwidth and FLOP rates.
 *
 * @param streamedWeightBytes weights read by one forward pass: every layer, the final norm and the lm_head (the
 *                            embedding table only when tied, since it then is the lm_head; otherwise a pass
 *                            gathers a few of its rows and reads no more)
 * @param layerMatmulParams   parameters of the Linear layers of all decoder layers, each used once per token
 * @param lmHeadParams        parameters of the lm_head, used once per token whose logits are computed
 */
record ModelCost(long streamedWeightBytes, long layerMatmulParams, long lmHeadParams) {

    /** The cost of {@code model} (a folder, a GGUF file or {@code synthetic:NAME[:DTYPE]}) with config {@code c}. */
    static ModelCost of(String model, ModelConfig c) {
        long h = c.hiddenSize();
        long layerMatmul = c.numLayers() * (h * (2L * c.qDim() + 2L * c.kvDim()) + 3 * h * c.intermediateSize());
        long lmHead = (long) c.vocabSize() * c.hiddenSize();
        long norms = (2L * c.numLayers() + 1) * h;
        long streamed = model.startsWith(EngineBuilder.SYNTHETIC)
                ? syntheticStreamedBytes(model, layerMatmul + lmHead, norms)
                : checkpointStreamedBytes(Path.of(model));
        return new ModelCost(streamed, layerMatmul, lmHead);
    }

    /**
     * A synthetic model ({@code synthetic:NAME[:DTYPE]}) stores its matrices in its dtype (bf16 by default) and its
     * norm weights likewise, or as f32 when the dtype is quantized; it has no biases.
     */
    private static long syntheticStreamedBytes(String model, long matrixParams, long normParams) {
        String[] parts = model.split(":");
        DType dtype = parts.length > 2 ? DType.parse(parts[2]) : DType.BF16;
        DType vectors = dtype.isQuantized() ? DType.F32 : dtype;
        return dtype.bytes(matrixParams) + vectors.bytes(normParams);
    }

    private static long checkpointStreamedBytes(Path path) {
        Optional<Path> gguf = GgufCheckpoint.locate(path);
        try (MappedModel m = gguf.isPresent() ? GgufCheckpoint.load(gguf.get()) : Checkpoint.load(path)) {
            long untiedEmbedding = m.config().tieWordEmbeddings() ? 0 : m.weights().embedTokens().data().byteSize();
            return m.weightBytes() - untiedEmbedding;
        }
    }

    /** FLOPs of the Linear layers for {@code tokens} tokens, {@code logitRows} of them through the lm_head. */
    double matmulFlops(long tokens, long logitRows) {
        return 2.0 * (tokens * layerMatmulParams + logitRows * lmHeadParams);
    }
}
