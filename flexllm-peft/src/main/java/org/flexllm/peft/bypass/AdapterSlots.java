package org.flexllm.peft.bypass;

import java.util.concurrent.atomic.AtomicReferenceArray;
import org.flexllm.graph.Projection;

/**
 * The adapters resident in a compiled model, by slot: what the bypass ops read at every forward pass. A slot
 * is filled or emptied between iterations; the batch's per-token adapter index is a slot number.
 */
public final class AdapterSlots {
    /** One resident adapter's bypasses, {@code [layer][projection]}, null where it adds nothing. */
    public record Resident(String name, Bypass[][] bypasses) {
        Bypass at(int layer, Projection p) {
            return bypasses[layer][p.ordinal()];
        }
    }

    private final AtomicReferenceArray<Resident> slots;
    private final int maxRank;

    /**
     * @param capacity adapters resident at once
     * @param maxRank  the largest LoRA rank a resident adapter may have (sizes the low-rank activations)
     */
    public AdapterSlots(int capacity, int maxRank) {
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
