package org.flexllm.spec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * A speculation tree of one request (SpecInfer's token tree): node 0 is the root, the request's last committed
 * token, whose next-token distribution the target computes anyway; every other node is a draft token whose
 * parent has a smaller index. Each node carries its depth and its path log-probability under the draft (the
 * sum of the draft's log-probabilities from the root to it; the root has 0), so a child never scores above its
 * parent.
 *
 * <p>Because parents come before their children, every prefix of the node order is a connected subtree:
 * {@link #prefix} is how a selected part of a candidate tree is cut out. {@link #inHeapOrder} sorts the nodes
 * best path probability first, the order in which AdaServe's per-request max-heap pops them. Immutable.
 */
public final class TokenTree {
    private static final int NONE = -1;

    private final int[] parent;
    private final int[] token;
    private final int[] depth;
    private final double[] logp;
    /** Children as linked lists in index order, so that the verifier walks siblings without allocating. */
    private final int[] firstChild;
    private final int[] nextSibling;

    private TokenTree(int[] parent, int[] token, int[] depth, double[] logp) {
        this.parent = parent;
        this.token = token;
        this.depth = depth;
        this.logp = logp;
        this.firstChild = new int[parent.length];
        this.nextSibling = new int[parent.length];
        Arrays.fill(firstChild, NONE);
        Arrays.fill(nextSibling, NONE);
        for (int i = parent.length - 1; i > 0; i--) {
            nextSibling[i] = firstChild[parent[i]];
            firstChild[parent[i]] = i;
        }
    }

    /** A tree of the root alone: plain decoding of one token. */
    public static TokenTree root(int rootToken) {
        return builder(rootToken).build();
    }

    /** A builder whose node 0 is {@code rootToken}. */
    public static Builder builder(int rootToken) {
        return new Builder(rootToken);
    }

    /** How many nodes, the root included: the tokens verifying this tree costs. */
    public int size() {
        return parent.length;
    }

    /** The token id of a node. */
    public int token(int node) {
        return token[node];
    }

    /** The parent's index, or -1 for the root. */
    public int parent(int node) {
        return parent[node];
    }

    /** The distance from the root: the root has 0, its children 1. */
    public int depth(int node) {
        return depth[node];
    }

    /** The draft's path log-probability of reaching this node from the root. */
    public double logp(int node) {
        return logp[node];
    }

    /** {@code exp(logp(node))}: the chance, as the draft sees it, that verification accepts this node. */
    public double probability(int node) {
        return StrictMath.exp(logp[node]);
    }

    /** The child with the smallest index, or -1 for a leaf. */
    public int firstChild(int node) {
        return firstChild[node];
    }

    /** The next child of the same parent in index order, or -1 after the last. */
    public int nextSibling(int node) {
        return nextSibling[node];
    }

    /** The child of {@code node} that holds {@code tokenId}, or -1 when none does. */
    public int child(int node, int tokenId) {
        for (int c = firstChild[node]; c != NONE; c = nextSibling[c]) {
            if (token[c] == tokenId) {
                return c;
            }
        }
        return NONE;
    }

    /** Every node's parent (-1 for the root), the form a tree attention mask can be built from. */
    public int[] parents() {
        return parent.clone();
    }

    /** How many 64-bit words an {@link #ancestorMask} has. */
    public int maskWords() {
        return (size() + 63) >>> 6;
    }

    /**
     * Writes the attention mask row of {@code node} into {@code words[0..maskWords())}: bit j is set when node j
     * is the node itself or one of its ancestors, i.e. when the node's query may attend to j's key.
     */
    public void ancestorMask(int node, long[] words) {
        Arrays.fill(words, 0, maskWords(), 0L);
        for (int j = node; j != NONE; j = parent[j]) {
            words[j >>> 6] |= 1L << j;
        }
    }

    /** The node indices from the root to {@code node}, both included. */
    public int[] path(int node) {
        int[] path = new int[depth[node] + 1];
        for (int j = node, i = depth[node]; j != NONE; j = parent[j], i--) {
            path[i] = j;
        }
        return path;
    }

    /** Every root-to-leaf path, as node indices, in the order of their leaves. */
    public List<int[]> paths() {
        List<int[]> paths = new ArrayList<>();
        for (int node = 0; node < size(); node++) {
            if (firstChild[node] == NONE) {
                paths.add(path(node));
            }
        }
        return paths;
    }

    /**
     * The subtree of the first {@code m} nodes, with the same indices. Connected whatever m is, since parents
     * come first; on a tree in heap order it is the m nodes most likely to be accepted.
     *
     * @throws IllegalArgumentException when m is not in [1, size()]
     */
    public TokenTree prefix(int m) {
        if (m < 1 || m > size()) {
            throw new IllegalArgumentException("a prefix of a " + size() + "-node tree has 1 to " + size()
                    + " nodes (the root always), not " + m);
        }
        if (m == size()) {
            return this;
        }
        return new TokenTree(Arrays.copyOf(parent, m), Arrays.copyOf(token, m), Arrays.copyOf(depth, m),
                Arrays.copyOf(logp, m));
    }

    /**
     * The same tree with its nodes sorted by path probability, best first (ties: shallower first, then the
     * earlier index): the pop order of a max-heap of the candidates. Parents still precede their children,
     * since a child never scores above its parent and is deeper.
     */
    public TokenTree inHeapOrder() {
        int[] order = IntStream.range(0, size()).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -logp[i]).thenComparingInt(i -> depth[i])
                        .thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
        int[] newIndex = new int[size()];
        for (int i = 0; i < order.length; i++) {
            newIndex[order[i]] = i;
        }
        Builder sorted = builder(token[0]);
        for (int i = 1; i < order.length; i++) {
            int old = order[i];
            sorted.add(newIndex[parent[old]], token[old], logp[old]);
        }
        return sorted.build();
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("TokenTree[");
        for (int i = 0; i < size(); i++) {
            text.append(i == 0 ? "" : ", ").append(i).append(':').append(token[i]).append('<').append(parent[i])
                    .append(String.format(" p=%.3g", probability(i)));
        }
        return text.append(']').toString();
    }

    /** Adds nodes one at a time, checking the tree's invariants as it goes. Not thread-safe. */
    public static final class Builder {
        private int[] parent = new int[16];
        private int[] token = new int[16];
        private int[] depth = new int[16];
        private double[] logp = new double[16];
        private int size;

        private Builder(int rootToken) {
            parent[0] = NONE;
            token[0] = checkedToken(rootToken);
            size = 1;
        }

        /**
         * Adds a draft token under {@code parentNode} and returns its index.
         *
         * @param pathLogp the path log-probability of the new node: finite and no higher than its parent's
         * @throws IllegalArgumentException when the parent does not exist yet or already has a child with this
         *                                  token, the token id is negative, or the score is not finite or above
         *                                  the parent's
         */
        public int add(int parentNode, int tokenId, double pathLogp) {
            if (parentNode < 0 || parentNode >= size) {
                throw new IllegalArgumentException("parent " + parentNode + " is not a node yet (nodes 0.."
                        + (size - 1) + "); parents must be added before their children");
            }
            if (!(pathLogp <= logp[parentNode]) || pathLogp == Double.NEGATIVE_INFINITY) {
                throw new IllegalArgumentException("a child's path log-probability must be finite and at most its"
                        + " parent's (" + logp[parentNode] + "), got " + pathLogp);
            }
            for (int sibling = parentNode + 1; sibling < size; sibling++) {
                // Verification descends into the child holding the target's token, so it must be unique.
                if (parent[sibling] == parentNode && token[sibling] == tokenId) {
                    throw new IllegalArgumentException("node " + parentNode + " already has a child with token "
                            + tokenId + " (node " + sibling + "); siblings hold distinct tokens");
                }
            }
            if (size == parent.length) {
                grow();
            }
            parent[size] = parentNode;
            token[size] = checkedToken(tokenId);
            depth[size] = depth[parentNode] + 1;
            logp[size] = pathLogp;
            return size++;
        }

        /** How many nodes so far, the root included. */
        public int size() {
            return size;
        }

        /** The path log-probability of a node added so far. */
        public double logp(int node) {
            return logp[Objects.checkIndex(node, size)];
        }

        /** The tree of the nodes added so far. */
        public TokenTree build() {
            return new TokenTree(Arrays.copyOf(parent, size), Arrays.copyOf(token, size),
                    Arrays.copyOf(depth, size), Arrays.copyOf(logp, size));
        }

        private void grow() {
            parent = Arrays.copyOf(parent, 2 * size);
            token = Arrays.copyOf(token, 2 * size);
            depth = Arrays.copyOf(depth, 2 * size);
            logp = Arrays.copyOf(logp, 2 * size);
        }

        private static int checkedToken(int tokenId) {
            if (tokenId < 0) {
                throw new IllegalArgumentException("token ids are non-negative, got " + tokenId);
            }
            return tokenId;
        }
    }
}
