package org.flexllm.spec;

/**
 * A simulated draft for benchmarks only: it knows the target's own greedy continuation of the prompt
 * (precomputed) and proposes its next token with probability {@code alpha}, else a random wrong token, at no
 * draft cost. That makes the acceptance rate under greedy verification exactly {@code alpha} per token, so
 * speedups can be measured against a known acceptance rate. Its output says nothing about a real draft's.
 *
 * <p>It reports {@code alpha} for its first proposal and {@code (1 − alpha) / (k − 1)} for each of the k − 1
 * random siblings (none when alpha is 1). Off the greedy continuation (a draft path that already went wrong,
 * or past its end) every proposal is random. The random choices are a hash of the seed, the sequence length
 * and the last token, so the same node always gets the same proposals and runs repeat.
 */
public final class OracleDrafter implements Drafter {
    private final double alpha;
    private final int vocabSize;
    private final int[] reference;
    private final int promptLength;
    private final long seed;

    /**
     * @param alpha        the chance that the first proposal is the target's token, in (0, 1]
     * @param vocabSize    the vocabulary random tokens are drawn from; at least 2
     * @param prompt       the request's prompt ids
     * @param continuation the target's greedy continuation of the prompt
     * @param seed         the seed of the simulated draft's random choices
     */
    public OracleDrafter(double alpha, int vocabSize, int[] prompt, int[] continuation, long seed) {
        DraftSpec.Oracle.checkAlpha(alpha);
        if (vocabSize < 2) {
            throw new InvalidSpeculationException("the oracle draft needs a vocabulary of at least 2 tokens to"
                    + " propose wrong ones, got " + vocabSize);
        }
        this.alpha = alpha;
        this.vocabSize = vocabSize;
        this.promptLength = prompt.length;
        this.reference = new int[prompt.length + continuation.length];
        System.arraycopy(prompt, 0, reference, 0, prompt.length);
        System.arraycopy(continuation, 0, reference, prompt.length, continuation.length);
        this.seed = seed;
    }

    @Override
    public void propose(int[] tokens, int length, int k, Proposals out) {
        out.clear();
        int right = rightToken(tokens, length);
        long state = mix(seed ^ mix(length * 0x9E3779B97F4A7C15L + tokens[length - 1]));
        state = mix(state);
        boolean hit = right >= 0 && unit(state) < alpha;
        if (hit) {
            out.add(right, alpha);
        } else {
            state = addRandom(state, right, out, alpha);
        }
        double sibling = k > 1 ? (1 - alpha) / (k - 1) : 0;
        while (out.size() < k && sibling > 0 && hasFreeToken(right, out)) {
            state = addRandom(state, right, out, sibling);
        }
    }

    /** Whether some token is neither the right one nor proposed already. */
    private boolean hasFreeToken(int right, Proposals out) {
        int taken = out.size() + (right >= 0 && !out.contains(right) ? 1 : 0);
        return taken < vocabSize;
    }

    /** The target's next token after {@code tokens[0..length)}, or -1 when the sequence left its continuation. */
    private int rightToken(int[] tokens, int length) {
        if (length >= reference.length || length < promptLength) {
            return -1;
        }
        for (int i = promptLength; i < length; i++) {
            if (tokens[i] != reference[i]) {
                return -1;
            }
        }
        return reference[length];
    }

    /** Adds a random token that is neither the right one nor proposed already; returns the advanced state. */
    private long addRandom(long state, int right, Proposals out, double probability) {
        int token;
        do {
            state = mix(state + 0x9E3779B97F4A7C15L);
            token = (int) Math.floorMod(state, (long) vocabSize);
        } while (token == right || out.contains(token));
        out.add(token, probability);
        return state;
    }

    /** SplitMix64's finalizer: a bijective scramble, so close inputs give unrelated outputs. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A double in [0, 1) from the top 53 bits. */
    private static double unit(long bits) {
        return (bits >>> 11) * 0x1.0p-53;
    }
}
