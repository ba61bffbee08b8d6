package org.flexllm.model;

import java.util.function.UnaryOperator;
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
        LinearWeights downProj) {

    /** The same layer with every tensor passed through {@code f}. */
    public LayerWeights map(UnaryOperator<Tensor> f) {
        return new LayerWeights(f.apply(inputLayernorm), qProj.map(f), kProj.map(f), vProj.map(f), oProj.map(f),
                f.apply(postAttentionLayernorm), gateProj.map(f), upProj.map(f), downProj.map(f));
    }
}
