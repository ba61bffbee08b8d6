package org.flexllm.spec;

import java.util.Arrays;

/**
 * The outcome of verifying one request's tree: the accepted draft nodes, then the bonus token the target
 * sampled after the last of them. The request emits {@code acceptedLength() + 1} tokens.
 *
 * @param path   the accepted nodes from the root's child down, as tree indices (the root is not in it)
 * @param tokens the emitted tokens: the accepted nodes' tokens, then the bonus token
 */
public record Verification(int[] path, int[] tokens) {
    public Verification {
        if (tokens.length != path.length + 1) {
            throw new IllegalArgumentException("a verification emits its accepted tokens and one bonus token: "
                    + path.length + " accepted nodes but " + tokens.length + " tokens");
        }
        path = path.clone();
        tokens = tokens.clone();
    }

    /** How many draft tokens were accepted. */
    public int acceptedLength() {
        return path.length;
    }

    /** The token the target sampled after the last accepted node. */
    public int bonus() {
        return tokens[path.length];
    }

    /** The node whose logits gave the bonus token: the last accepted node, or the root (0). */
    public int lastNode() {
        return path.length == 0 ? 0 : path[path.length - 1];
    }

    @Override
    public int[] path() {
        return path.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Verification v && Arrays.equals(path, v.path) && Arrays.equals(tokens, v.tokens);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(path) + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "Verification[path=" + Arrays.toString(path) + ", tokens=" + Arrays.toString(tokens) + "]";
    }
}
