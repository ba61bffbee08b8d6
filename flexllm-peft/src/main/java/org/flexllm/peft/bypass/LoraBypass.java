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
 * @param firstInput the column of the projection's whole input that A's first column multiplies: where a
 *                   tensor-parallel rank's slice of a row-parallel Linear's input starts, else 0. Dropout draws its
 *                   mask by whole-input column, so that every rank drops what one rank alone would.
 */
public record LoraBypass(Tensor a, Tensor b, Parameter gradA, Parameter gradB, float scale, float dropout,
                         int firstInput) implements Bypass {

    /** A bypass over two trainable parameters, on a whole input. */
    public static LoraBypass of(Parameter a, Parameter b, float scale, float dropout) {
        return of(a, b, scale, dropout, 0);
    }

    /** A bypass over two trainable parameters whose input starts at column {@code firstInput} of the whole one. */
    public static LoraBypass of(Parameter a, Parameter b, float scale, float dropout, int firstInput) {
        return new LoraBypass(tensor(a), tensor(b), a, b, scale, dropout, firstInput);
    }

    private static Tensor tensor(Parameter p) {
        return new Tensor(p.name(), DType.F32, p.shape(), p.value());
    }

    public int rank() {
        return a.rows();
    }
}
