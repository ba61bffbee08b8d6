package org.flexllm.parallel;

import org.flexllm.graph.Projection;

/** Megatron's two ways to split a Linear {@code y = x·Wᵀ} over ranks. */
public enum LinearSplit {
    /** W split by output rows: replicated input, split output, no collective. */
    COLUMN,
    /** W split by input columns: split input, partial-sum output, reduced by an all-reduce. */
    ROW;

    /** q/k/v and gate/up feed per-head and per-unit work; o_proj and down_proj bring it back to the residual. */
    public static LinearSplit of(Projection p) {
        return switch (p) {
            case Q_PROJ, K_PROJ, V_PROJ, GATE_PROJ, UP_PROJ -> COLUMN;
            case O_PROJ, DOWN_PROJ -> ROW;
        };
    }
}
