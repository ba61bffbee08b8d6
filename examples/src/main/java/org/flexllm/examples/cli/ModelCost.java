package org.flexllm.examples.cli;

import java.nio.file.Path;
import org.flexllm.api.EngineBuilder;
import org.flexllm.model.Checkpoint;
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

    /** The cost of {@code model} (a folder or {@code synthetic:NAME}) with config {@code c}. */
    static ModelCost of(String model, ModelConfig c) {
        long h = c.hiddenSize();
        long layerMatmul = c.numLayers() * (h * (2L * c.qDim() + 2L * c.kvDim()) + 3 * h * c.intermediateSize());
        long lmHead = (long) c.vocabSize() * c.hiddenSize();
        long norms = (2L * c.numLayers() + 1) * h;
        // A synthetic model stores every tensor as bf16 and has no biases.
        long streamed = model.startsWith(EngineBuilder.SYNTHETIC)
                ? (layerMatmul + lmHead + norms) * DType.BF16.byteSize()
                : checkpointStreamedBytes(Path.of(model));
        return new ModelCost(streamed, layerMatmul, lmHead);
    }

    private static long checkpointStreamedBytes(Path folder) {
        try (Checkpoint checkpoint = Checkpoint.load(folder)) {
            long untiedEmbedding = checkpoint.config().tieWordEmbeddings() ? 0
                    : checkpoint.weights().embedTokens().data().byteSize();
            return checkpoint.weightBytes() - untiedEmbedding;
        }
    }

    /** FLOPs of the Linear layers for {@code tokens} tokens, {@code logitRows} of them through the lm_head. */
    double matmulFlops(long tokens, long logitRows) {
        return 2.0 * (tokens * layerMatmulParams + logitRows * lmHeadParams);
    }
}
