package org.flexllm.peft.bypass;

import org.flexllm.peft.Parameter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;

/**
 * LoRA at one projection: {@code y += scale · (x·Aᵀ)·Bᵀ}.
 *
 * @param a     {@code [r, in]}, the shrink
 * @param b     {@code [out, r]}, the expand
 * @param gradA the parameter {@code a} views, whose gradient the backward adds to
 * @param gradB the same for {@code b}
 * @param scale   {@code alpha / r}, or {@code alpha / √r} with rsLoRA
 * @param dropout the probability of dropping each element of the input of A while training
 */
public record LoraBypass(Tensor a, Tensor b, Parameter gradA, Parameter gradB, float scale, float dropout)
        implements Bypass {

    /** A bypass over two trainable parameters. */
    public static LoraBypass of(Parameter a, Parameter b, float scale, float dropout) {
        return new LoraBypass(tensor(a), tensor(b), a, b, scale, dropout);
    }

    private static Tensor tensor(Parameter p) {
        return new Tensor(p.name(), DType.F32, p.shape(), p.value());
    }

    public int rank() {
        return a.rows();
    }
}
