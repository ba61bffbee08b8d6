package org.flexllm.model;

import org.flexllm.tensor.Tensor;

/** One decoder layer's parameters, named as in HF LlamaDecoderLayer. */
public record LayerWeights(
        Tensor inputLayernorm,
        LinearWeights qProj,
        LinearWeights kProj,
        LinearWeights vProj,
        LinearWeights oProj,
        Tensor postAttentionLayernorm,
        LinearWeights gateProj,
        LinearWeights upProj,
        LinearWeights downProj) {}
