package org.flexllm.graph;

import org.flexllm.kv.PagedKvCache;

/**
 * The ranks of a tensor-parallel group as the leading rank's {@link CompiledModel} sees them: a forward pass, a
 * backward slice or a tape it is asked for is made on every rank (see {@code org.flexllm.parallel}). The leader's
 * tapes and finetuning sequences stand for the whole group's: the group keeps each rank's own behind them.
 */
public interface RankGroup {
    /** Runs {@code batch} on every rank: the leader's KV cache is {@code kv}, its logits go to {@code sink}. */
    void forward(ForwardBatch batch, PagedKvCache kv, LogitsSink sink);

    /** Runs a backward slice of {@code sequence} on every rank: see {@link CompiledModel#backward}. */
    void backward(ForwardBatch batch, PagedKvCache kv, TrainingSequence sequence, int top, int bottom);

    /** Moves keys and values between slots of every layer on every rank: see {@link CompiledModel#copyKv}. */
    void copyKv(int[] from, int[] to, int count, PagedKvCache kv);

    /** A tape on every rank: the leader's is returned, and stands for the others' in later passes. */
    Tape newTape(int maxSequenceTokens);
}
