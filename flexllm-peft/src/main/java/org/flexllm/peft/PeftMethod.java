package org.flexllm.peft;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The parameter-efficient finetuning methods the library trains and serves, named as PEFT's {@code peft_type}. */
public enum PeftMethod {
    /** Low-rank adaptation: {@code y = W x + s · B A x}. */
    LORA,
    /** (IA)³: a learned vector scales a Linear's output (attention) or its input (feedforward modules). */
    IA3;

    /** The {@code peft_type} string of {@code adapter_config.json}. */
    public String peftType() {
        return name();
    }

    /**
     * The method whose {@code peft_type} is {@code peftType}.
     *
     * @throws UnsupportedAdapterException naming the type and the supported ones
     */
    public static PeftMethod fromPeftType(String peftType) {
        return Arrays.stream(values())
                .filter(m -> m.peftType().equals(peftType))
                .findFirst()
                .orElseThrow(() -> new UnsupportedAdapterException("peft_type '" + peftType
                        + "' is not supported (supported: " + Arrays.stream(values()).map(PeftMethod::peftType)
                        .collect(Collectors.joining(", ")) + ")"));
    }
}
