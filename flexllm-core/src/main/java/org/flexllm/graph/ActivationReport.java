package org.flexllm.graph;

import java.util.List;

/**
 * What a finetuning forward pass keeps per token for the backward, as the compile passes planned it.
 *
 * @param pruning       the plan's mode
 * @param kept          each kept activation, with its bytes per token summed over all layers
 * @param bytesPerToken the total
 */
public record ActivationReport(Pruning pruning, List<Kept> kept, long bytesPerToken) {
    public ActivationReport {
        kept = List.copyOf(kept);
    }

    /** One kept activation: {@code value} as {@code reader} reads it, in every layer (or once, at the top). */
    public record Kept(String value, String reader, long bytesPerToken) {}

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("activations kept per token (" + pruning + "):\n");
        for (Kept k : kept) {
            s.append(String.format("  %-14s read by %-28s %,10d B%n", k.value(), k.reader(), k.bytesPerToken()));
        }
        return s.append(String.format("  total %,d B per token%n", bytesPerToken)).toString();
    }
}
