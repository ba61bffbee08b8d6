package org.flexllm.spec;

import java.util.Arrays;

/**
 * Builds a request's speculation tree as AdaServe does: level by level, expands every frontier node with the
 * draft's top-k children, scores each child by its path log-probability (its parent's plus the log of the
 * draft's probability, so never above its parent) and keeps the best {@code width} of the level as the next
 * frontier, until {@code depth} levels. The result is in heap order ({@link TokenTree#inHeapOrder}), so that any
 * prefix is the connected subtree of the most promising candidates that selection can cut.
 *
 * <p>One instance keeps its scratch buffers between calls. Not thread-safe.
 */
public final class TreeConstruction {
    private final Proposals proposals = new Proposals(8);
    private int[] sequence = new int[0];
    /** The candidates of the level being built: parent node, token, path log-probability. */
    private int[] levelParent = new int[0];
    private int[] levelToken = new int[0];
    private double[] levelLogp = new double[0];
    private Integer[] levelOrder = new Integer[0];

    /**
     * The tree for a request whose committed tokens are {@code context[0..length)}; its root is the last of them.
     *
     * @throws IllegalArgumentException when the context is empty
     */
    public TokenTree build(Drafter drafter, int[] context, int length, TreeShape shape) {
        if (length < 1) {
            throw new IllegalArgumentException("a speculation tree grows from the last committed token; the"
                    + " context is empty");
        }
        ensureCapacity(length + shape.depth(), shape.width() * shape.topK());
        System.arraycopy(context, 0, sequence, 0, length);
        TokenTree.Builder tree = TokenTree.builder(context[length - 1]);
        int frontierFrom = 0;
        int frontierTo = 1;
        for (int level = 1; level <= shape.depth() && frontierFrom < frontierTo; level++) {
            int candidates = expand(drafter, tree, frontierFrom, frontierTo, length, shape.topK());
            frontierFrom = tree.size();
            keepBest(tree, candidates, shape.width());
            frontierTo = tree.size();
        }
        return tree.build().inHeapOrder();
    }

    /** Proposes children for every frontier node into the level buffers; returns how many. */
    private int expand(Drafter drafter, TokenTree.Builder tree, int from, int to, int length, int k) {
        TokenTree sofar = tree.build();
        int count = 0;
        for (int node = from; node < to; node++) {
            int pathLength = writePath(sofar, node, length);
            drafter.propose(sequence, pathLength, k, proposals);
            for (int i = 0; i < Math.min(k, proposals.size()); i++) {
                levelParent[count] = node;
                levelToken[count] = proposals.token(i);
                levelLogp[count++] = sofar.logp(node) + Math.log(proposals.probability(i));
            }
        }
        return count;
    }

    /** Writes the draft tokens from the root's child down to {@code node} after the context; returns the length. */
    private int writePath(TokenTree tree, int node, int length) {
        int end = length + tree.depth(node);
        for (int j = node, i = end - 1; j != 0; j = tree.parent(j), i--) {
            sequence[i] = tree.token(j);
        }
        return end;
    }

    /** Adds the best {@code width} candidates of the level to the tree; ties keep the earlier candidate. */
    private void keepBest(TokenTree.Builder tree, int candidates, int width) {
        for (int i = 0; i < candidates; i++) {
            levelOrder[i] = i;
        }
        Arrays.sort(levelOrder, 0, candidates, (a, b) -> Double.compare(levelLogp[b], levelLogp[a]));
        for (int i = 0; i < Math.min(width, candidates); i++) {
            int c = levelOrder[i];
            tree.add(levelParent[c], levelToken[c], levelLogp[c]);
        }
    }

    private void ensureCapacity(int sequenceLength, int levelSize) {
        if (sequence.length < sequenceLength) {
            sequence = new int[sequenceLength];
        }
        if (levelParent.length < levelSize) {
            levelParent = new int[levelSize];
            levelToken = new int[levelSize];
            levelLogp = new double[levelSize];
            levelOrder = new Integer[levelSize];
        }
    }
}
