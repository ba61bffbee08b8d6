package org.flexllm.peft;

import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;

/**
 * The widths of one Linear layer of a decoder layer, with the {@code config.json} names they come from (for
 * messages that tell which model dimension an adapter tensor disagrees with).
 *
 * @param in      input features (the weight's columns)
 * @param inName  where {@code in} comes from, e.g. {@code hidden_size}
 * @param out     output features (the weight's rows)
 * @param outName where {@code out} comes from
 */
public record LinearShape(int in, String inName, int out, String outName) {
    private static final String HIDDEN = "hidden_size";
    private static final String INTERMEDIATE = "intermediate_size";
    private static final String Q_DIM = "num_attention_heads·head_dim";
    private static final String KV_DIM = "num_key_value_heads·head_dim";

    /** The shape of {@code projection} in a model of {@code config}. */
    public static LinearShape of(Projection projection, ModelConfig config) {
        int hidden = config.hiddenSize();
        int inter = config.intermediateSize();
        return switch (projection) {
            case Q_PROJ -> new LinearShape(hidden, HIDDEN, config.qDim(), Q_DIM);
            case K_PROJ, V_PROJ -> new LinearShape(hidden, HIDDEN, config.kvDim(), KV_DIM);
            case O_PROJ -> new LinearShape(config.qDim(), Q_DIM, hidden, HIDDEN);
            case GATE_PROJ, UP_PROJ -> new LinearShape(hidden, HIDDEN, inter, INTERMEDIATE);
            case DOWN_PROJ -> new LinearShape(inter, INTERMEDIATE, hidden, HIDDEN);
        };
    }
}
