package org.flexllm.schedule;

/**
 * Speculative decoding's share of an iteration: token trees that extend its decodes. The scheduler asks for
 * them after inference and before finetuning, so that tree tokens and finetuning share one latency budget, the
 * requests' first.
 */
@FunctionalInterface
public interface TreeDrafting {
    /** No speculation: every decode runs its one token. */
    TreeDrafting NONE = (plan, inference, surplus) -> inference;

    /**
     * Drafts trees for the decodes of {@code plan} and returns {@code inference} with their tokens.
     *
     * @param surplus whether trees may grow beyond what the requests need to keep their TPOT (not while
     *                finetuning has work that wants the time)
     */
    Composition draft(IterationPlan plan, Composition inference, boolean surplus);
}
