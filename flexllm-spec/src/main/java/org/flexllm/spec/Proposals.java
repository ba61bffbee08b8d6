package org.flexllm.spec;

import java.util.Arrays;
import java.util.Objects;

/**
 * A drafter's answer for one node, reused from node to node so that proposing allocates nothing: distinct token
 * ids with the draft's probability for each, in (0, 1]. Not thread-safe.
 */
public final class Proposals {
    private int[] tokens;
    private double[] probabilities;
    private int size;

    /** An empty answer with room for {@code capacity} proposals; it grows when needed. */
    public Proposals(int capacity) {
        tokens = new int[Math.max(1, capacity)];
        probabilities = new double[tokens.length];
    }

    /** Forgets every proposal. */
    public void clear() {
        size = 0;
    }

    /**
     * Adds a proposal; a token already proposed is ignored, so that siblings stay distinct.
     *
     * @throws IllegalArgumentException when the token id is negative or the probability is not in (0, 1]
     */
    public void add(int token, double probability) {
        if (token < 0 || !(probability > 0 && probability <= 1)) {
            throw new IllegalArgumentException("a proposal needs a token id >= 0 and a probability in (0, 1], got"
                    + " token " + token + " with probability " + probability);
        }
        if (contains(token)) {
            return;
        }
        if (size == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * size);
            probabilities = Arrays.copyOf(probabilities, 2 * size);
        }
        tokens[size] = token;
        probabilities[size++] = probability;
    }

    /** Whether {@code token} has been proposed. */
    public boolean contains(int token) {
        for (int i = 0; i < size; i++) {
            if (tokens[i] == token) {
                return true;
            }
        }
        return false;
    }

    /** How many proposals. */
    public int size() {
        return size;
    }

    /** The i-th proposed token id. */
    public int token(int i) {
        return tokens[Objects.checkIndex(i, size)];
    }

    /** The draft's probability of the i-th proposal. */
    public double probability(int i) {
        return probabilities[Objects.checkIndex(i, size)];
    }
}
