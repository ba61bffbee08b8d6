package org.flexllm.graph;

import org.flexllm.kv.PagedKvCache;

/**
 * The ranks of a tensor-parallel group as the leading rank's {@link CompiledModel} sees them: a forward pass it is
 * asked for runs on every rank (see {@code org.flexllm.parallel}).
 */
@FunctionalInterface
public interface RankGroup {
    /** Runs {@code batch} on every rank: the leader's KV cache is {@code kv}, its logits go to {@code sink}. */
    void forward(ForwardBatch batch, PagedKvCache kv, LogitsSink sink);
}
