package org.flexllm.model;

import java.util.function.UnaryOperator;
import org.flexllm.tensor.Tensor;

/**
 * A Linear layer's parameters: {@code y = x·Wᵀ + b}.
 *
 * @param weight {@code [out, in]}
 * @param bias   {@code [out]}, or null when the layer has none
 */
public record LinearWeights(Tensor weight, Tensor bias) {
    public int in() {
        return weight.cols();
    }

    public int out() {
        return weight.rows();
    }

    /** The same layer with its tensors passed through {@code f}. */
    public LinearWeights map(UnaryOperator<Tensor> f) {
        return new LinearWeights(f.apply(weight), bias == null ? null : f.apply(bias));
    }

    public boolean hasBias() {
        return bias != null;
    }
}
