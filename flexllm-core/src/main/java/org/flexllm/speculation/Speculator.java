package org.flexllm.speculation;

/**
 * Drafts token trees and verifies them: the service provider interface {@code flexllm-spec} implements, so
 * that core runs speculative decoding without depending on it. Called on the engine thread only.
 */
public interface Speculator {
    /** Proposes trees for the round's requests, within its budget. */
    void draft(TreeRound round);

    /**
     * The target's verdict on {@code tree}: {@code logits[i]} is the target's logits row at node {@code i} (its
     * next-token distribution). Must emit what decoding without speculation would, in distribution (exactly,
     * when greedy).
     */
    Verdict verify(Decoding request, DraftTree tree, float[][] logits);

    /** The request ended (finished, failed, cancelled): its drafting state may go. */
    default void finished(long requestId) {}
}
