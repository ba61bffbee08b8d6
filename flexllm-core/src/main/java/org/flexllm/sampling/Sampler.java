package org.flexllm.sampling;

import java.util.random.RandomGenerator;

/**
 * Turns one sequence's logits row into its next token, as its {@link SamplingParams} say: repetition penalty,
 * then greedy argmax, or temperature, top-k, top-p and min-p followed by one draw from what is left.
 *
 * <p>A sampler keeps vocabulary-sized scratch arrays, so {@link #choose} allocates nothing; one sampler serves
 * every sequence of an engine thread in turn. Top-k selects with a bounded heap rather than sorting the
 * vocabulary, and top-p ranks only as many of the best tokens as its nucleus needs. A non-greedy choice takes
 * exactly one {@code nextDouble()} from the request's generator and greedy takes none, so a seeded request
 * produces the same tokens whatever else the engine is doing. Not thread-safe.
 */
public final class Sampler {
    /** Most nuclei at usual top-p values hold tens of tokens; when more are needed the search widens 8-fold. */
    private static final int FIRST_NUCLEUS_BOUND = 64;
    private static final int NUCLEUS_GROWTH = 8;

    private final int vocabSize;
    private final float[] penalized;
    /** {@code exp((logit - max) / temperature)} by token id, valid for the current candidates only. */
    private final float[] weights;
    /** The ids still in the running; best first when they have been ranked. */
    private final int[] candidates;

    /** A sampler for rows of {@code vocabSize} logits. */
    public Sampler(int vocabSize) {
        this.vocabSize = vocabSize;
        this.penalized = new float[vocabSize];
        this.weights = new float[vocabSize];
        this.candidates = new int[vocabSize];
    }

    /**
     * The next token id, without log-probabilities and without allocating.
     *
     * @param logits  the sequence's logits at its last position, one per vocabulary id; left unchanged
     * @param params  the request's settings
     * @param history the ids the sequence has seen, read only when the repetition penalty is on
     * @param random  the request's generator (see {@link RandomSource}), unused when greedy
     * @throws IllegalArgumentException when the row is not vocabulary-sized
     */
    public int choose(float[] logits, SamplingParams params, TokenHistory history, RandomGenerator random) {
        if (logits.length != vocabSize) {
            throw new IllegalArgumentException("logits row has " + logits.length
                    + " entries but this sampler was made for a vocabulary of " + vocabSize);
        }
        float[] row = penalize(logits, (float) params.repetitionPenalty(), history);
        return params.isGreedy() ? argmax(row) : draw(row, params, random);
    }

    /**
     * The next token as {@link #choose} picks it, with its log-probability under the raw logits and as many
     * alternatives as {@link SamplingParams#logprobs()} asks for (none when it is empty).
     */
    public SampledToken sample(float[] logits, SamplingParams params, TokenHistory history, RandomGenerator random) {
        int id = choose(logits, params, history, random);
        return Logprobs.forToken(logits, id, params.logprobs().orElse(0));
    }

    /** HF's repetition penalty, applied once per distinct id seen, on a copy of the logits. */
    private float[] penalize(float[] logits, float penalty, TokenHistory history) {
        if (penalty == 1) {
            return logits;
        }
        System.arraycopy(logits, 0, penalized, 0, vocabSize);
        for (int j = 0; j < history.size(); j++) {
            int id = history.id(j);
            float logit = penalized[id];
            penalized[id] = logit > 0 ? logit / penalty : logit * penalty;
        }
        return penalized;
    }

    /** The index of the largest entry; ties go to the lowest id. */
    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    private int draw(float[] row, SamplingParams params, RandomGenerator random) {
        int n = params.topK() > 0 ? Math.min(params.topK(), vocabSize) : vocabSize;
        boolean ranked = n < vocabSize;
        if (ranked) {
            Logprobs.topK(row, n, candidates);
        } else {
            allCandidates();
        }
        weigh(row, n, (float) params.temperature());
        if (params.topP() < 1) {
            n = nucleus(n, ranked, params.topP());
        }
        if (params.minP() > 0) {
            n = atLeast(n, (float) params.minP());
        }
        return pick(n, random.nextDouble());
    }

    private void allCandidates() {
        for (int id = 0; id < vocabSize; id++) {
            candidates[id] = id;
        }
    }

    /** Fills the candidates' weights; the best candidate gets exactly 1. */
    private void weigh(float[] row, int n, float temperature) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, row[candidates[j]]);
        }
        for (int j = 0; j < n; j++) {
            int id = candidates[j];
            weights[id] = (float) Math.exp((row[id] - max) / temperature);
        }
    }

    /** Keeps the fewest best candidates whose weights reach {@code topP} of the candidates' total. */
    private int nucleus(int n, boolean ranked, double topP) {
        double target = topP * massOf(n);
        int rankedCount = ranked ? n : rankUntil(target);
        return prefixReaching(rankedCount, target);
    }

    /**
     * Ranks the best k of the whole vocabulary, widening k until their weights reach {@code target}, so that
     * only the nucleus and its neighbourhood get ordered. Returns k.
     */
    private int rankUntil(double target) {
        int k = Math.min(FIRST_NUCLEUS_BOUND, vocabSize);
        Logprobs.topK(weights, k, candidates);
        while (k < vocabSize && massOf(k) < target) {
            k = Math.min(vocabSize, k * NUCLEUS_GROWTH);
            Logprobs.topK(weights, k, candidates);
        }
        return k;
    }

    /** The length of the shortest prefix of the first n candidates whose weights sum to target, or n. */
    private int prefixReaching(int n, double target) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += weights[candidates[j]];
            if (sum >= target) {
                return j + 1;
            }
        }
        return n;
    }

    /**
     * Keeps, in order, the candidates whose weight is at least {@code minP}: the best weighs 1, so weights
     * already are probabilities relative to the most likely token.
     */
    private int atLeast(int n, float minP) {
        int kept = 0;
        for (int j = 0; j < n; j++) {
            if (weights[candidates[j]] >= minP) {
                candidates[kept++] = candidates[j];
            }
        }
        return kept;
    }

    /** Inverse-CDF draw over the first n candidates, {@code u} uniform in [0, 1). */
    private int pick(int n, double u) {
        double target = u * massOf(n);
        double sum = 0;
        int chosen = candidates[0];
        for (int j = 0; j < n; j++) {
            float weight = weights[candidates[j]];
            // Zero weights are skipped so that rounding at the top of the mass can never land on one.
            if (weight > 0) {
                chosen = candidates[j];
                sum += weight;
                if (sum > target) {
                    break;
                }
            }
        }
        return chosen;
    }

    private double massOf(int n) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += weights[candidates[j]];
        }
        return sum;
    }
}
