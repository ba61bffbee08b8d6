package org.flexllm.spec;

/**
 * Prompt lookup decoding: a draft without a model. For n from {@code maxN} down to 1, it looks for earlier
 * occurrences of the sequence's last n tokens, most recent first, and proposes the token that followed each
 * (distinct tokens, until it has k). Text that repeats its prompt (code edits, summaries, retrieval answers)
 * is drafted well; other text gets no proposals and decodes as without speculation.
 *
 * <p>Probabilities are a heuristic, since no model is asked: a follower found through a match of n tokens is
 * right with confidence {@code c = n / (n + 1)} (one token of agreement is a coin flip, three make it likely),
 * and each proposal takes that fraction of the probability the earlier ones left:
 * {@code p_j = c_j · (1 − p_0 − … − p_{j−1})}. They sum to less than 1 and decrease, so the first proposal
 * is the best-scored child, as tree construction expects.
 */
public final class NgramDrafter implements Drafter {
    /** The default longest n-gram matched. */
    public static final int DEFAULT_MAX_N = 3;

    private final int maxN;

    /** A drafter matching n-grams of {@code maxN} tokens down to 1. */
    public NgramDrafter(int maxN) {
        if (maxN < 1) {
            throw new InvalidSpeculationException("n-gram drafting needs a longest match of at least 1 token, got "
                    + maxN);
        }
        this.maxN = maxN;
    }

    /** A drafter matching up to {@link #DEFAULT_MAX_N} tokens. */
    public NgramDrafter() {
        this(DEFAULT_MAX_N);
    }

    /** The longest n-gram matched. */
    public int maxN() {
        return maxN;
    }

    @Override
    public void propose(int[] tokens, int length, int k, Proposals out) {
        out.clear();
        double left = 1;
        for (int n = Math.min(maxN, length - 1); n >= 1 && out.size() < k; n--) {
            double confidence = n / (n + 1.0);
            // A match must end before the last token so that a follower exists.
            for (int start = length - n - 1; start >= 0 && out.size() < k; start--) {
                int follower = tokens[start + n];
                if (matches(tokens, start, length - n, n) && !out.contains(follower)) {
                    double p = confidence * left;
                    out.add(follower, p);
                    left -= p;
                }
            }
        }
    }

    private static boolean matches(int[] tokens, int from, int suffix, int n) {
        for (int i = 0; i < n; i++) {
            if (tokens[from + i] != tokens[suffix + i]) {
                return false;
            }
        }
        return true;
    }
}
