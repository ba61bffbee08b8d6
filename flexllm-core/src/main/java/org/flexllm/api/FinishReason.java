package org.flexllm.api;

import java.util.Locale;

/** Why a generation ended. */
public enum FinishReason {
    /** An end-of-sequence token, a stop token id or a stop string. */
    STOP,
    /** {@code maxTokens} generated, or the context is full. */
    LENGTH;

    /** The lowercase name the command line and vLLM use ({@code stop}, {@code length}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
