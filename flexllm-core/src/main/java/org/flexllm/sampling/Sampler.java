package org.flexllm.sampling;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.flexllm.backend.cpu.Exp;

/**
 * Turns one sequence's logits row into its next token, as its {@link SamplingParams} say: the repetition,
 * frequency and presence penalties, then greedy argmax, or temperature, top-k, top-p and min-p followed by one
 * draw from what is left.
 *
 * <p>A sampler keeps vocabulary-sized scratch arrays, so {@link #choose} allocates nothing; one sampler serves
 * every sequence of an engine thread in turn. Top-k selects with a bounded heap rather than sorting the
 * vocabulary, and top-p ranks only the few tokens at the edge of its nucleus. A non-greedy choice takes
 * exactly one {@code nextDouble()} from the request's generator and greedy takes none, so a seeded request
 * produces the same tokens whatever else the engine is doing. Not thread-safe.
 */
public final class Sampler {
    /** Top-p buckets keep 5 mantissa bits: each spans about 3% of weight, so the boundary bucket is small. */
    private static final int BUCKET_SHIFT = 23 - 5;
    /** Weights lie in [0, 1], so 1 has the highest bucket. */
    private static final int BUCKETS = (Float.floatToRawIntBits(1f) >>> BUCKET_SHIFT) + 1;

    private final int vocabSize;
    private final float[] penalized;
    /** Occurrences of each id in the output, zero between calls: filled and cleared by {@link #penalize}. */
    private final int[] counts;
    /** {@code exp((logit - max) / temperature)} by token id, valid for the current candidates only. */
    private final float[] weights;
    /** The ids still in the running, in no particular order. */
    private final int[] candidates;
    /** Top-p scratch: the weight in each bucket, and the ids of the bucket where the nucleus ends. */
    private final double[] bucketMass = new double[BUCKETS];
    private final int[] boundary;

    /** A sampler for rows of {@code vocabSize} logits. */
    public Sampler(int vocabSize) {
        this.vocabSize = vocabSize;
        this.penalized = new float[vocabSize];
        this.counts = new int[vocabSize];
        this.weights = new float[vocabSize];
        this.candidates = new int[vocabSize];
        this.boundary = new int[vocabSize];
    }

    /**
     * The next token id, without log-probabilities and without allocating.
     *
     * @param logits  the sequence's logits at its last position, one per vocabulary id; left unchanged
     * @param params  the request's settings
     * @param history the ids the sequence has seen, read only when a penalty is on
     * @param random  the request's generator (see {@link RandomSource}), unused when greedy
     * @throws IllegalArgumentException when the row is not vocabulary-sized
     */
    public int choose(float[] logits, SamplingParams params, TokenHistory history, RandomGenerator random) {
        float[] row = penalize(sized(logits, "logits row"), params, history);
        return params.isGreedy() ? argmax(row) : pick(filter(row, params), random.nextDouble());
    }

    /**
     * The exact distribution {@link #choose} draws from, by token id: after the penalties, temperature,
     * top-k, top-p and min-p, the kept tokens' weights divided by their sum, and 0 for every other id; for
     * greedy settings, 1 at the argmax. Speculative verification needs it to reason about the target's
     * probabilities; it takes no random numbers.
     *
     * @param out receives one probability per vocabulary id
     * @throws IllegalArgumentException when the row or {@code out} is not vocabulary-sized
     */
    public void distribution(float[] logits, SamplingParams params, TokenHistory history, float[] out) {
        float[] row = penalize(sized(logits, "logits row"), params, history);
        Arrays.fill(sized(out, "distribution output"), 0);
        if (params.isGreedy()) {
            out[argmax(row)] = 1;
            return;
        }
        int n = filter(row, params);
        double mass = massOf(n);
        for (int j = 0; j < n; j++) {
            out[candidates[j]] = (float) (weights[candidates[j]] / mass);
        }
    }

    private float[] sized(float[] row, String what) {
        if (row.length != vocabSize) {
            throw new IllegalArgumentException(what + " has " + row.length
                    + " entries but this sampler was made for a vocabulary of " + vocabSize);
        }
        return row;
    }

    /**
     * The next token as {@link #choose} picks it, with its log-probability under the raw logits and as many
     * alternatives as {@link SamplingParams#logprobs()} asks for (none when it is empty).
     */
    public SampledToken sample(float[] logits, SamplingParams params, TokenHistory history, RandomGenerator random) {
        int id = choose(logits, params, history, random);
        return Logprobs.forToken(logits, id, params.logprobs().orElse(0));
    }

    /**
     * The penalties, on a copy of the logits, as vLLM applies them: an id seen in the prompt or the output has its
     * logit divided by the repetition penalty when positive and multiplied by it otherwise, once; an id the output
     * holds c times then loses {@code frequency * c + presence}.
     */
    private float[] penalize(float[] logits, SamplingParams params, TokenHistory history) {
        if (!params.penalizes()) {
            return logits;
        }
        System.arraycopy(logits, 0, penalized, 0, vocabSize);
        float repetition = (float) params.repetitionPenalty();
        float frequency = (float) params.frequencyPenalty();
        float presence = (float) params.presencePenalty();
        for (int j = 0; j < history.generated(); j++) {
            counts[history.generatedId(j)]++;
        }
        for (int j = 0; j < history.promptIds(); j++) {
            int id = history.promptId(j);
            if (counts[id] == 0) { // ids of the output too are penalised below, once
                penalized[id] = repeated(penalized[id], repetition);
            }
        }
        for (int j = 0; j < history.generated(); j++) {
            int id = history.generatedId(j);
            int c = counts[id];
            if (c > 0) {
                penalized[id] = repeated(penalized[id], repetition) - frequency * c - presence;
                counts[id] = 0; // the id is done, and the scratch is clean for the next row
            }
        }
        return penalized;
    }

    private static float repeated(float logit, float penalty) {
        return logit > 0 ? logit / penalty : logit * penalty;
    }

    /** The index of the largest entry; ties go to the lowest id. */
    private static int argmax(float[] row) {
        // Above the float just below the maximum means equal to it.
        int best = RowKernels.firstAbove(row, 0, Math.nextDown(RowKernels.max(row)));
        if (best == row.length) {
            throw new IllegalArgumentException("logits row holds NaN or only -Infinity, so it has no largest"
                    + " entry; the model's forward pass produced invalid values");
        }
        return best;
    }

    /**
     * Applies temperature, top-k, top-p and min-p: leaves the kept ids in {@code candidates[0..n)} with their
     * weights in {@code weights}, and returns n.
     */
    private int filter(float[] row, SamplingParams params) {
        float temperature = (float) params.temperature();
        int n = params.topK() > 0 ? Math.min(params.topK(), vocabSize) : vocabSize;
        if (n < vocabSize) {
            Logprobs.topK(row, n, candidates);
            weigh(row, n, temperature);
        } else {
            weighAll(row, temperature);
        }
        if (params.topP() < 1) {
            n = nucleus(n, params.topP());
        }
        if (params.minP() > 0) {
            n = atLeast(n, (float) params.minP());
        }
        return n;
    }

    /** Makes every id a candidate and weighs them all, with the vector kernel since this is V exponentials. */
    private void weighAll(float[] row, float temperature) {
        for (int id = 0; id < vocabSize; id++) {
            candidates[id] = id;
        }
        RowKernels.exp(row, RowKernels.max(row), temperature, weights);
    }

    /** Weighs the first n candidates; the best of them gets exactly 1, as in {@link #weighAll}. */
    private void weigh(float[] row, int n, float temperature) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, row[candidates[j]]);
        }
        for (int j = 0; j < n; j++) {
            int id = candidates[j];
            weights[id] = Exp.exp((row[id] - max) / temperature);
        }
    }

    /**
     * Keeps the fewest best candidates whose weights reach {@code topP} of the candidates' total, without
     * sorting them: one pass adds the weights up per narrow bucket to find the bucket where the running total,
     * from the top, crosses the target; the buckets above it are kept whole and only the boundary bucket's
     * tokens are ranked.
     */
    private int nucleus(int n, double topP) {
        Arrays.fill(bucketMass, 0);
        double total = 0;
        for (int j = 0; j < n; j++) {
            float weight = weights[candidates[j]];
            bucketMass[bucket(weight)] += weight;
            total += weight;
        }
        double target = topP * total;
        int edge = BUCKETS - 1;
        double kept = 0;
        while (edge > 0 && kept + bucketMass[edge] < target) {
            kept += bucketMass[edge--];
        }
        int count = 0;
        int tied = 0;
        for (int j = 0; j < n; j++) {
            int id = candidates[j];
            int bucket = bucket(weights[id]);
            if (bucket > edge) {
                candidates[count++] = id;
            } else if (bucket == edge) {
                boundary[tied++] = id;
            }
        }
        Logprobs.rank(weights, boundary, tied);
        for (int i = 0; i < tied && kept < target; i++) {
            candidates[count++] = boundary[i];
            kept += weights[boundary[i]];
        }
        return count;
    }

    /** A weight's bucket: its float bits without the low mantissa bits, which order like the weights do. */
    private static int bucket(float weight) {
        return Float.floatToRawIntBits(weight) >>> BUCKET_SHIFT;
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
