package org.flexllm.model;

import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The tensor names of llama.cpp's GGUF files and the Hugging Face names they stand for, both ways: one table, so
 * that loading and converting cannot disagree.
 */
public final class GgufNames {
    private static final String HF_LAYER = "model.layers.";
    private static final String GGUF_LAYER = "blk.";
    private static final Map<String, String> GLOBAL = Map.of(
            "model.embed_tokens.weight", "token_embd.weight",
            "model.norm.weight", "output_norm.weight",
            "lm_head.weight", "output.weight");
    /** Per layer, HF suffix → GGUF suffix (weights; biases follow with {@code .bias}). */
    private static final Map<String, String> LAYER = Map.of(
            "input_layernorm", "attn_norm",
            "self_attn.q_proj", "attn_q",
            "self_attn.k_proj", "attn_k",
            "self_attn.v_proj", "attn_v",
            "self_attn.o_proj", "attn_output",
            "post_attention_layernorm", "ffn_norm",
            "mlp.gate_proj", "ffn_gate",
            "mlp.up_proj", "ffn_up",
            "mlp.down_proj", "ffn_down");
    private static final Map<String, String> LAYER_BACK =
            LAYER.entrySet().stream().collect(Collectors.toMap(Map.Entry::getValue, Map.Entry::getKey));
    private static final Pattern HF = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.(weight|bias)");
    private static final Pattern GGUF = Pattern.compile("blk\\.(\\d+)\\.(.+)\\.(weight|bias)");

    private GgufNames() {}

    /** The GGUF name of the HF tensor {@code name}, if it is one a LLaMA-family model has. */
    public static Optional<String> toGguf(String name) {
        return translate(name, GLOBAL, HF, LAYER, GGUF_LAYER);
    }

    /** The HF name of the GGUF tensor {@code name}, if it is one a LLaMA-family model has. */
    public static Optional<String> toHuggingFace(String name) {
        Map<String, String> back = GLOBAL.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getValue, Map.Entry::getKey));
        return translate(name, back, GGUF, LAYER_BACK, HF_LAYER);
    }

    /** Whether {@code hfName} is a query or key projection, whose rows llama.cpp orders for its rotary layout. */
    static boolean isQueryOrKey(String hfName) {
        return hfName.contains(".self_attn.q_proj.") || hfName.contains(".self_attn.k_proj.");
    }

    /** Whether {@code hfName} is a key projection (of the kv heads, not the query heads). */
    static boolean isKey(String hfName) {
        return hfName.contains(".self_attn.k_proj.");
    }

    private static Optional<String> translate(String name, Map<String, String> global, Pattern layered,
            Map<String, String> parts, String layerPrefix) {
        String whole = global.get(name);
        if (whole != null) {
            return Optional.of(whole);
        }
        Matcher m = layered.matcher(name);
        if (!m.matches() || !parts.containsKey(m.group(2))) {
            return Optional.empty();
        }
        return Optional.of(layerPrefix + m.group(1) + "." + parts.get(m.group(2)) + "." + m.group(3));
    }
}
