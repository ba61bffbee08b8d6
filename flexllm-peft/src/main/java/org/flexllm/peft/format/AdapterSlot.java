package org.flexllm.peft.format;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.LinearShape;
import org.flexllm.tensor.Shape;

/**
 * One tensor that an adapter of a given config has for a given model: where it attaches, what it is, its shape
 * and its key in {@code adapter_model.safetensors}, e.g.
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}.
 *
 * @param layer      the decoder layer
 * @param projection the Linear it attaches to
 * @param weight     which of the adapter's tensors it is
 * @param linear     the Linear's widths in the model
 * @param r          the LoRA rank (0 for IA3)
 */
public record AdapterSlot(int layer, Projection projection, AdapterWeight weight, LinearShape linear, int r) {
    /** PEFT's prefix for a causal LM: PeftModel.base_model (LoraModel).model (LlamaForCausalLM).model. */
    private static final String PREFIX = "base_model.model.model.layers.";

    /**
     * Every tensor of an adapter of {@code config} on a model of {@code model}: layer by layer, the targets in
     * {@link Projection} order, A before B.
     */
    public static List<AdapterSlot> of(AdapterConfig config, ModelConfig model) {
        List<AdapterSlot> slots = new ArrayList<>();
        for (int layer = 0; layer < model.numLayers(); layer++) {
            for (Projection projection : config.targets()) {
                LinearShape linear = LinearShape.of(projection, model);
                for (AdapterWeight weight : weights(config, projection)) {
                    slots.add(new AdapterSlot(layer, projection, weight, linear, config.r()));
                }
            }
        }
        return slots;
    }

    /** The key in {@code adapter_model.safetensors}. */
    public String key() {
        return PREFIX + layer + "." + block(projection) + "." + projection.moduleName() + "." + weight.suffix();
    }

    /** The shape PEFT stores. */
    public Shape shape() {
        return weight.shape(r, linear);
    }

    /** The shape with where each dimension comes from, for messages. */
    public String explainShape() {
        return weight.explain(r, linear);
    }

    private static List<AdapterWeight> weights(AdapterConfig config, Projection projection) {
        return switch (config.method()) {
            case LORA -> List.of(AdapterWeight.LORA_A, AdapterWeight.LORA_B);
            case IA3 -> List.of(config.isFeedforward(projection) ? AdapterWeight.IA3_INPUT : AdapterWeight.IA3_OUTPUT);
        };
    }

    /** The HF submodule that holds the projection. */
    private static String block(Projection projection) {
        return switch (projection) {
            case Q_PROJ, K_PROJ, V_PROJ, O_PROJ -> "self_attn";
            case GATE_PROJ, UP_PROJ, DOWN_PROJ -> "mlp";
        };
    }
}
