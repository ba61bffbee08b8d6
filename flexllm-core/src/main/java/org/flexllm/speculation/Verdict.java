package org.flexllm.speculation;

import java.util.Arrays;

/**
 * What verification decided for one tree: the accepted path below the root, then the bonus token the target
 * chose after it. The request emits the accepted nodes' tokens, then the bonus: one token at least.
 *
 * @param accepted node indices from the root's child down, each the child of the one before (empty: none)
 * @param bonus    the target's token after the last accepted node (after the root when none was accepted)
 */
public record Verdict(int[] accepted, int bonus) {
    public Verdict {
        accepted = accepted.clone();
    }

    /** Checks that the path is a root-to-node path of {@code tree}. */
    public void checkPathOf(DraftTree tree) {
        int parent = 0;
        for (int node : accepted) {
            if (node <= 0 || node >= tree.size() || tree.parent(node) != parent) {
                throw new IllegalStateException("verdict " + this + " is no path from the root of " + tree);
            }
            parent = node;
        }
    }

    /** The node whose logits chose the {@code k}-th emitted token (k = accepted.length: the bonus). */
    public int sourceNode(int k) {
        return k == 0 ? 0 : accepted[k - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Verdict v && bonus == v.bonus && Arrays.equals(accepted, v.accepted);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(accepted) + bonus;
    }

    @Override
    public String toString() {
        return "Verdict[accepted=" + Arrays.toString(accepted) + ", bonus=" + bonus + "]";
    }
}
