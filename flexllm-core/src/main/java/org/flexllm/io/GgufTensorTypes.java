package org.flexllm.io;

import java.util.Map;
import org.flexllm.tensor.DType;

/** The ggml tensor type ids of GGUF and the dtypes they store. */
public final class GgufTensorTypes {
    private static final Map<Integer, DType> SUPPORTED = Map.of(
            0, DType.F32, 1, DType.F16, 2, DType.Q4_0, 8, DType.Q8_0, 12, DType.Q4_K, 14, DType.Q6_K, 30, DType.BF16);
    /** ggml types that exist but that this library does not compute with, named in messages. */
    private static final Map<Integer, String> KNOWN = Map.ofEntries(
            Map.entry(3, "Q4_1"), Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(9, "Q8_1"),
            Map.entry(10, "Q2_K"), Map.entry(11, "Q3_K"), Map.entry(13, "Q5_K"), Map.entry(15, "Q8_K"),
            Map.entry(16, "IQ2_XXS"), Map.entry(17, "IQ2_XS"), Map.entry(18, "IQ3_XXS"), Map.entry(19, "IQ1_S"),
            Map.entry(20, "IQ4_NL"), Map.entry(21, "IQ3_S"), Map.entry(22, "IQ2_S"), Map.entry(23, "IQ4_XS"),
            Map.entry(24, "I8"), Map.entry(25, "I16"), Map.entry(26, "I32"), Map.entry(27, "I64"),
            Map.entry(28, "F64"), Map.entry(29, "IQ1_M"), Map.entry(34, "TQ1_0"), Map.entry(35, "TQ2_0"));

    private GgufTensorTypes() {}

    /** The dtype of ggml type {@code id}, or null when this library does not compute with it. */
    static DType dtype(int id) {
        return SUPPORTED.get(id);
    }

    /** How a type id reads in a message: its ggml name where it has one. */
    static String describe(int id) {
        String name = KNOWN.get(id);
        return name != null ? "ggml type " + name + " (" + id + ")" : "unknown ggml type " + Integer.toUnsignedString(id);
    }

    /** The ggml type id of {@code dtype}. */
    public static int id(DType dtype) {
        return SUPPORTED.entrySet().stream().filter(e -> e.getValue() == dtype).findFirst().orElseThrow().getKey();
    }
}
