package org.flexllm.model;

/**
 * HF {@code rope_scaling}: how the rotary frequencies are stretched for long contexts.
 *
 * @param type                          NONE, LINEAR (positions divided by factor) or LLAMA3 (per-frequency)
 * @param factor                        the stretch factor (1 for NONE)
 * @param lowFreqFactor                 llama3 only
 * @param highFreqFactor                llama3 only
 * @param originalMaxPositionEmbeddings llama3 only: the context the model was pretrained with
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {
    public enum Type { NONE, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }
}
