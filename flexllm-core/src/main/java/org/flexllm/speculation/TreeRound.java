package org.flexllm.speculation;

/**
 * One iteration's drafting: the requests that decode in it, and how many tree tokens it can take. The speculator
 * proposes a tree for any of them ({@link #propose}); a request without one decodes its root alone.
 */
public interface TreeRound {
    /** Decoding requests this iteration, in the order the engine scheduled them. */
    int size();

    Decoding request(int index);

    /** Sets request {@code index}'s tree; its root must be the request's last token. */
    void propose(int index, DraftTree tree);

    /** When the iteration starts, on the engine clock. */
    long nowNanos();

    /**
     * The most tree tokens (nodes beside the roots, all requests together) the iteration can take while its
     * predicted latency stays within the tightest running request's limit; never more than the engine's cap.
     */
    int budget();

    /** The iteration's predicted latency with {@code treeTokens} tree tokens, in ms. */
    double predictedMs(int treeTokens);

    /**
     * Whether tokens beyond what the requests need to keep their TPOT may be spent (AdaServe's phase 2): not
     * while a finetuning job waits for the time they would take.
     */
    boolean surplus();
}
