package org.flexllm.graph;

/** What a finetuning forward pass keeps for the backward (see {@link BackwardPlan}). */
public enum Pruning {
    /**
     * Each op keeps what its {@link Op#keeps()} names (norms their input, attention its queries, LoRA the
     * low-rank activation); whatever else a backward needs is recomputed from those in the backward.
     */
    PRUNED,
    /** Every activation an op reads is kept, as an unpruned autograd graph would; nothing is recomputed. */
    KEEP_ALL
}
