package org.flexllm.speculation;

import java.util.Arrays;
import org.flexllm.backend.AttentionBatch;

/**
 * A token tree to verify: node 0 is the root, the request's last token (sampled, not yet in the KV cache); every
 * other node is a drafted token whose parent comes before it. Verification scores all nodes in one pass: node
 * {@code i} sits at cache position {@code root + i} and attends to the committed prefix and its own ancestors,
 * at rotary position {@code root + depth(i)}.
 *
 * @param tokens  per node: its token id ({@code tokens[0]} is the root's)
 * @param parents per node: its parent's index, below its own ({@code parents[0]} is −1)
 */
public record DraftTree(int[] tokens, int[] parents) {
    public DraftTree {
        if (tokens.length == 0 || tokens.length != parents.length) {
            throw new IllegalArgumentException("a draft tree needs a root and one parent per node, got "
                    + tokens.length + " tokens and " + parents.length + " parents");
        }
        if (tokens.length > AttentionBatch.MAX_TREE_NODES) {
            throw new IllegalArgumentException("a draft tree holds at most " + AttentionBatch.MAX_TREE_NODES
                    + " nodes, got " + tokens.length);
        }
        if (parents[0] != -1) {
            throw new IllegalArgumentException("node 0 is the root: its parent must be -1, got " + parents[0]);
        }
        for (int i = 1; i < parents.length; i++) {
            if (parents[i] < 0 || parents[i] >= i) {
                throw new IllegalArgumentException("node " + i + " has parent " + parents[i]
                        + ": a parent must come before its child");
            }
        }
        tokens = tokens.clone();
        parents = parents.clone();
    }

    /** The root alone: a plain decode step. */
    public static DraftTree root(int token) {
        return new DraftTree(new int[] {token}, new int[] {-1});
    }

    /** A chain: the root, then {@code drafted} one after another. */
    public static DraftTree chain(int root, int... drafted) {
        int[] tokens = new int[drafted.length + 1];
        int[] parents = new int[drafted.length + 1];
        tokens[0] = root;
        parents[0] = -1;
        for (int i = 0; i < drafted.length; i++) {
            tokens[i + 1] = drafted[i];
            parents[i + 1] = i;
        }
        return new DraftTree(tokens, parents);
    }

    /** Nodes, the root included. */
    public int size() {
        return tokens.length;
    }

    public int token(int node) {
        return tokens[node];
    }

    public int parent(int node) {
        return parents[node];
    }

    /** Edges from the root: 0 for the root. */
    public int depth(int node) {
        int depth = 0;
        for (int i = node; i > 0; i = parents[i]) {
            depth++;
        }
        return depth;
    }

    /** Bit {@code j} set for every ancestor {@code j} of {@code node}, and for the node itself. */
    public long ancestors(int node) {
        long mask = 0;
        for (int i = node; i >= 0; i = parents[i]) {
            mask |= 1L << i;
        }
        return mask;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DraftTree t && Arrays.equals(tokens, t.tokens) && Arrays.equals(parents, t.parents);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Arrays.hashCode(parents);
    }

    @Override
    public String toString() {
        return "DraftTree" + Arrays.toString(tokens) + " parents " + Arrays.toString(parents);
    }
}
