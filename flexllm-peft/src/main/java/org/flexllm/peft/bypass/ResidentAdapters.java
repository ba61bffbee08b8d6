package org.flexllm.peft.bypass;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.format.AdapterSlot;

/**
 * The adapters resident in a compiled model, by slot: what the bypass ops read at every forward pass. A slot
 * is filled or emptied between iterations; the batch's per-token adapter index is a slot number.
 */
public final class ResidentAdapters {
    /** One resident adapter's bypasses, {@code [layer][projection]}, null where it adds nothing. */
    public record Resident(String name, Bypass[][] bypasses) {
        Bypass at(int layer, Projection p) {
            return bypasses[layer][p.ordinal()];
        }

        /** The bypasses over an adapter's parameters (matched to the model by their PEFT keys), on whole inputs. */
        public static Resident of(String name, AdapterConfig config, List<Parameter> parameters, ModelConfig model) {
            return of(name, config, parameters, model, p -> 0);
        }

        /**
         * The bypasses over an adapter's parameters (matched to the model by their PEFT keys), on inputs that start
         * at column {@code firstInput} of each projection's whole input (a tensor-parallel rank's slices).
         */
        public static Resident of(String name, AdapterConfig config, List<Parameter> parameters, ModelConfig model,
                                  ToIntFunction<Projection> firstInput) {
            Map<String, Parameter> byKey = new HashMap<>();
            parameters.forEach(p -> byKey.put(p.name(), p));
            Bypass[][] bypasses = new Bypass[model.numLayers()][Projection.values().length];
            for (AdapterSlot slot : AdapterSlot.of(config, model)) {
                Parameter p = byKey.get(slot.key());
                Bypass[] layer = bypasses[slot.layer()];
                int i = slot.projection().ordinal();
                layer[i] = switch (slot.weight()) {
                    case LORA_A -> layer[i];
                    case LORA_B -> LoraBypass.of(byKey.get(slot.key().replace("lora_B", "lora_A")), p,
                            (float) config.scale(), (float) config.loraDropout(),
                            firstInput.applyAsInt(slot.projection()));
                    case IA3_OUTPUT, IA3_INPUT -> new Ia3Bypass(p);
                };
            }
            return new Resident(name, bypasses);
        }
    }

    private final AtomicReferenceArray<Resident> slots;
    private final int maxRank;

    /**
     * @param capacity adapters resident at once
     * @param maxRank  the largest LoRA rank a resident adapter may have (sizes the low-rank activations)
     */
    public ResidentAdapters(int capacity, int maxRank) {
        this.slots = new AtomicReferenceArray<>(capacity);
        this.maxRank = maxRank;
    }

    public int capacity() {
        return slots.length();
    }

    public int maxRank() {
        return maxRank;
    }

    /** The bypass of the adapter in {@code slot} at {@code (layer, projection)}, or null. */
    public Bypass at(int slot, int layer, Projection projection) {
        Resident r = slots.get(slot);
        return r == null ? null : r.at(layer, projection);
    }

    public Resident get(int slot) {
        return slots.get(slot);
    }

    public void set(int slot, Resident adapter) {
        slots.set(slot, adapter);
    }
}
