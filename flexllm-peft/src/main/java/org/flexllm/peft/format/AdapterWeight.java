package org.flexllm.peft.format;

import org.flexllm.peft.LinearShape;
import org.flexllm.tensor.Shape;

/** The kinds of tensor an adapter attaches to one Linear layer, with PEFT's key suffix and shape for each. */
public enum AdapterWeight {
    /** LoRA's down-projection A, {@code [r, in]}. */
    LORA_A("lora_A.weight"),
    /** LoRA's up-projection B, {@code [out, r]}. */
    LORA_B("lora_B.weight"),
    /** IA3's vector on a Linear's output (attention modules), {@code [out, 1]}. */
    IA3_OUTPUT("ia3_l"),
    /** IA3's vector on a Linear's input (feedforward modules), {@code [1, in]}. */
    IA3_INPUT("ia3_l");

    private final String suffix;

    AdapterWeight(String suffix) {
        this.suffix = suffix;
    }

    /** What PEFT appends to the module's key, e.g. {@code lora_A.weight}. */
    public String suffix() {
        return suffix;
    }

    /** The shape PEFT stores for this weight on a Linear of shape {@code linear}, with LoRA rank {@code r}. */
    public Shape shape(int r, LinearShape linear) {
        return switch (this) {
            case LORA_A -> Shape.of(r, linear.in());
            case LORA_B -> Shape.of(linear.out(), r);
            case IA3_OUTPUT -> Shape.of(linear.out(), 1);
            case IA3_INPUT -> Shape.of(1, linear.in());
        };
    }

    /** Where each dimension of {@link #shape} comes from, e.g. {@code [r = 4, in = hidden_size = 64]}. */
    public String explain(int r, LinearShape linear) {
        String rank = "r = " + r;
        String in = "in = " + linear.inName() + " = " + linear.in();
        String out = "out = " + linear.outName() + " = " + linear.out();
        return switch (this) {
            case LORA_A -> "[" + rank + ", " + in + "]";
            case LORA_B -> "[" + out + ", " + rank + "]";
            case IA3_OUTPUT -> "[" + out + ", 1]";
            case IA3_INPUT -> "[1, " + in + "]";
        };
    }
}
