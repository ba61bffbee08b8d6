package org.flexllm.schedule;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How an engine shares its iterations between inference and finetuning. {@link #COSERVE} is the library's
 * purpose; the others are the baselines it is measured against, run by the same engine for a fair comparison.
 */
public enum Policy {
    /** Inference first in every iteration; finetuning gets the largest window and backward slice that keep the SLOs. */
    COSERVE,
    /** Finetuning samples run whole, between inference iterations: every K iterations, or when no request waits. */
    TEMPORAL,
    /** A fixed share of every iteration's token budget is reserved for finetuning, whatever the load. */
    SPATIAL,
    /** Inference only; attaching a finetuning job is refused. */
    INFERENCE_ONLY,
    /** Finetuning only, whole samples back to back; requests wait until the engine closes. */
    FINETUNE_ONLY;

    /** The name on the command line: {@code coserve}, {@code inference-only}, ... */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The policy of a {@link #label()}. */
    public static Policy parse(String label) {
        for (Policy p : values()) {
            if (p.label().equals(label.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown policy '" + label + "'; known: "
                + Arrays.stream(values()).map(Policy::label).collect(Collectors.joining(", ")));
    }
}
