package org.flexllm.spec;

/**
 * A draft source: proposes the tokens most likely to follow a token sequence, with the probabilities it gives
 * them. The sequence is the request's committed tokens followed by the draft path of the tree node being
 * expanded, so a drafter needs no state of its own about the tree.
 *
 * <p>Proposals must be deterministic given the sequence (and the drafter's own seed): the lossless verification
 * rule of {@link Verifier} treats the children of a node as fixed before the target's draw.
 */
public interface Drafter {
    /**
     * Writes up to {@code k} distinct token ids that may follow {@code tokens[0..length)}, most likely first,
     * into {@code out} (cleared first). Writing none is allowed: the node is then not expanded.
     *
     * @param tokens the committed tokens, then the draft tokens from the root's child down to the node
     * @param length how many entries of {@code tokens} are the sequence; at least 1
     * @param k      the most proposals wanted; at least 1
     * @param out    receives the proposals
     */
    void propose(int[] tokens, int length, int k, Proposals out);
}
