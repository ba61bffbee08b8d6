package org.flexllm.graph;

import org.flexllm.model.LayerWeights;
import org.flexllm.model.LinearWeights;

/** The Linear layers of a decoder layer, named as HF and PEFT name them (PEFT's target modules). */
public enum Projection {
    Q_PROJ("q_proj"), K_PROJ("k_proj"), V_PROJ("v_proj"), O_PROJ("o_proj"),
    GATE_PROJ("gate_proj"), UP_PROJ("up_proj"), DOWN_PROJ("down_proj");

    private final String moduleName;

    Projection(String moduleName) {
        this.moduleName = moduleName;
    }

    /** The HF module name, e.g. {@code q_proj}. */
    public String moduleName() {
        return moduleName;
    }

    public LinearWeights of(LayerWeights layer) {
        return switch (this) {
            case Q_PROJ -> layer.qProj();
            case K_PROJ -> layer.kProj();
            case V_PROJ -> layer.vProj();
            case O_PROJ -> layer.oProj();
            case GATE_PROJ -> layer.gateProj();
            case UP_PROJ -> layer.upProj();
            case DOWN_PROJ -> layer.downProj();
        };
    }
}
