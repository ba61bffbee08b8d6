package org.flexllm.model;

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

    public boolean hasBias() {
        return bias != null;
    }
}
