package org.flexllm.model;

import java.util.List;

/**
 * The shape and hyperparameters of a LLaMA-family decoder, as HF {@code config.json} gives them.
 *
 * @param architecture          which family (decides bias layout)
 * @param hiddenSize            H, the residual stream width
 * @param intermediateSize      I, the MLP width
 * @param numLayers             decoder layers
 * @param numHeads              query heads
 * @param numKvHeads            key/value heads (GQA when fewer than query heads)
 * @param headDim               per-head width; {@code hiddenSize / numHeads} unless config.json says otherwise
 * @param vocabSize             V
 * @param rmsNormEps            epsilon inside RMSNorm
 * @param ropeTheta             rotary base
 * @param ropeScaling           rotary frequency scaling ({@link RopeScaling#NONE} when absent)
 * @param maxPositionEmbeddings the context length
 * @param tieWordEmbeddings     lm_head shares the embedding matrix
 * @param qkvBias               biases on q/k/v projections (Qwen2; Llama with attention_bias)
 * @param oBias                 bias on o_proj (Llama with attention_bias only)
 * @param mlpBias               biases on gate/up/down (Llama mlp_bias)
 * @param bosTokenId            begin-of-sequence id, or -1 when the model has none
 * @param eosTokenIds           ids that end generation (config.json and generation_config.json merged)
 */
public record ModelConfig(
        Architecture architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        float rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean oBias,
        boolean mlpBias,
        int bosTokenId,
        List<Integer> eosTokenIds) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads
                    + " is not a multiple of num_key_value_heads " + numKvHeads);
        }
    }

    /** This model cut to its first {@code layers} decoder layers (an early-exit draft of it). */
    public ModelConfig withLayers(int layers) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, layers, numHeads, numKvHeads, headDim,
                vocabSize, rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, qkvBias,
                oBias, mlpBias, bosTokenId, eosTokenIds);
    }

    /** Width of the concatenated query heads. */
    public int qDim() {
        return numHeads * headDim;
    }

    /** Width of the concatenated key (or value) heads. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }
}
