package org.flexllm.sampling;

import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How one request turns logits into tokens and when it stops, after vLLM's {@code SamplingParams}.
 * Build one with {@link #builder()}; every field is checked when the record is made, and a bad value throws
 * {@link InvalidSamplingParamsException} naming the field.
 *
 * <p>The {@link Sampler} applies the logit processing in this order, as vLLM does: repetition penalty,
 * frequency penalty, presence penalty, temperature, top-k, top-p, min-p; then it draws from what is left.
 *
 * @param maxTokens          the most tokens to generate (at least 1; default 256)
 * @param temperature        logits are divided by it before the softmax; 0 (or below 1e-5) selects greedy
 *                           decoding: argmax, ties to the lowest id, ignoring top-k, top-p, min-p and the seed
 *                           (default 1)
 * @param topK               keep only the k most likely tokens; 0 or -1 turns it off (default 0)
 * @param topP               keep the smallest set of most likely tokens whose probability sums to at least
 *                           topP, in (0, 1]; 1 turns it off (default 1)
 * @param minP               drop tokens less likely than {@code minP} times the most likely one, in [0, 1];
 *                           0 turns it off (default 0)
 * @param seed               when present, the request's random stream depends on this seed alone, so its
 *                           output does not depend on batch composition or other requests; when empty the
 *                           engine hands the request a stream of its own (see {@link RandomSource})
 * @param repetitionPenalty  HF's repetition penalty: the logit of every token id seen so far in the prompt or
 *                           the output is divided by it when positive and multiplied by it otherwise, once
 *                           per id however often it occurred; above 0, and 1 turns it off (default 1)
 * @param presencePenalty    OpenAI's presence penalty, as vLLM applies it: subtracted from the logit of every id
 *                           the output holds so far (not the prompt), once; in [-2, 2], negative values
 *                           encourage repeats, and 0 turns it off (default 0)
 * @param frequencyPenalty   OpenAI's frequency penalty, as vLLM applies it: subtracted from the logit of every id
 *                           the output holds so far (not the prompt), times how often it occurs there; in
 *                           [-2, 2], and 0 turns it off (default 0)
 * @param stopStrings        generation stops when the output text ends with one of these (non-empty strings);
 *                           the stop string itself is not returned
 * @param stopTokenIds       generation stops after one of these ids is generated, in addition to the model's
 *                           end-of-sequence ids
 * @param ignoreEos          keep generating past the model's end-of-sequence ids (until maxTokens or a stop)
 * @param logprobs           when present (n &ge; 0), each generated token comes with its log-probability and the
 *                           n most likely alternatives; 0 returns the chosen token's log-probability alone.
 *                           Log-probabilities are those of the raw model output (log-softmax of the logits
 *                           before any penalty, temperature or filter), as vLLM returns by default
 * @param promptLogprobs     the same for every prompt token after the first, each scored given the ones before
 * @param skipSpecialTokens  leave special tokens (BOS, EOS, chat markers) out of the returned text (default true)
 */
public record SamplingParams(
        int maxTokens,
        double temperature,
        int topK,
        double topP,
        double minP,
        OptionalLong seed,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        List<String> stopStrings,
        List<Integer> stopTokenIds,
        boolean ignoreEos,
        OptionalInt logprobs,
        OptionalInt promptLogprobs,
        boolean skipSpecialTokens) {

    private static final double GREEDY_BELOW = 1e-5;
    /** OpenAI's and vLLM's bound on the presence and frequency penalties' magnitude. */
    private static final double MAX_OPENAI_PENALTY = 2;

    public SamplingParams {
        require(maxTokens >= 1, "maxTokens", "must be at least 1", maxTokens);
        require(temperature >= 0 && Double.isFinite(temperature), "temperature",
                "must be finite and >= 0 (0 selects greedy decoding)", temperature);
        require(topK >= -1, "topK", "must be >= 1, or 0 or -1 to turn top-k off", topK);
        require(topP > 0 && topP <= 1, "topP", "must be in (0, 1] (1 turns top-p off)", topP);
        require(minP >= 0 && minP <= 1, "minP", "must be in [0, 1] (0 turns min-p off)", minP);
        require(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), "repetitionPenalty",
                "must be finite and > 0 (1 turns it off)", repetitionPenalty);
        require(Math.abs(presencePenalty) <= MAX_OPENAI_PENALTY, "presencePenalty",
                "must be in [-2, 2] (0 turns it off)", presencePenalty);
        require(Math.abs(frequencyPenalty) <= MAX_OPENAI_PENALTY, "frequencyPenalty",
                "must be in [-2, 2] (0 turns it off)", frequencyPenalty);
        require(stopStrings != null && stopStrings.stream().allMatch(s -> s != null && !s.isEmpty()),
                "stopStrings", "must be a list of non-empty strings", stopStrings);
        require(stopTokenIds != null && stopTokenIds.stream().allMatch(id -> id != null && id >= 0),
                "stopTokenIds", "must be a list of non-negative token ids", stopTokenIds);
        require(seed != null, "seed", "must be an OptionalLong, empty for no seed", seed);
        require(logprobs != null && logprobs.orElse(0) >= 0, "logprobs",
                "must be empty (off) or hold a count >= 0", logprobs);
        require(promptLogprobs != null && promptLogprobs.orElse(0) >= 0, "promptLogprobs",
                "must be empty (off) or hold a count >= 0", promptLogprobs);
        stopStrings = List.copyOf(stopStrings);
        stopTokenIds = List.copyOf(stopTokenIds);
    }

    private static void require(boolean ok, String field, String requirement, Object value) {
        if (!ok) {
            throw new InvalidSamplingParamsException(field, requirement, value);
        }
    }

    /** A builder holding the defaults listed on this record. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults with temperature 0: argmax decoding. */
    public static SamplingParams greedy() {
        return builder().temperature(0).build();
    }

    /** A builder starting from this record's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Whether tokens are chosen by argmax rather than drawn at random: temperature 0, or below 1e-5 as in vLLM,
     * where dividing by it would overflow the scaled logits while the draw is argmax in all but name.
     */
    public boolean isGreedy() {
        return temperature < GREEDY_BELOW;
    }

    /** Whether any of the repetition, presence and frequency penalties is on, so the history matters. */
    public boolean penalizes() {
        return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
    }

    /** Collects {@link SamplingParams} fields; {@link #build()} validates them. Not thread-safe. */
    public static final class Builder {
        private int maxTokens = 256;
        private double temperature = 1;
        private int topK = 0;
        private double topP = 1;
        private double minP = 0;
        private OptionalLong seed = OptionalLong.empty();
        private double repetitionPenalty = 1;
        private double presencePenalty = 0;
        private double frequencyPenalty = 0;
        private List<String> stopStrings = List.of();
        private List<Integer> stopTokenIds = List.of();
        private boolean ignoreEos = false;
        private OptionalInt logprobs = OptionalInt.empty();
        private OptionalInt promptLogprobs = OptionalInt.empty();
        private boolean skipSpecialTokens = true;

        private Builder() {
        }

        private Builder(SamplingParams p) {
            maxTokens = p.maxTokens;
            temperature = p.temperature;
            topK = p.topK;
            topP = p.topP;
            minP = p.minP;
            seed = p.seed;
            repetitionPenalty = p.repetitionPenalty;
            presencePenalty = p.presencePenalty;
            frequencyPenalty = p.frequencyPenalty;
            stopStrings = p.stopStrings;
            stopTokenIds = p.stopTokenIds;
            ignoreEos = p.ignoreEos;
            logprobs = p.logprobs;
            promptLogprobs = p.promptLogprobs;
            skipSpecialTokens = p.skipSpecialTokens;
        }

        /** See {@link SamplingParams#maxTokens()}. */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** See {@link SamplingParams#temperature()}. */
        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        /** See {@link SamplingParams#topK()}. */
        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        /** See {@link SamplingParams#topP()}. */
        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        /** See {@link SamplingParams#minP()}. */
        public Builder minP(double minP) {
            this.minP = minP;
            return this;
        }

        /** Makes the request reproducible; see {@link SamplingParams#seed()}. */
        public Builder seed(long seed) {
            this.seed = OptionalLong.of(seed);
            return this;
        }

        /** See {@link SamplingParams#repetitionPenalty()}. */
        public Builder repetitionPenalty(double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        /** See {@link SamplingParams#presencePenalty()}. */
        public Builder presencePenalty(double presencePenalty) {
            this.presencePenalty = presencePenalty;
            return this;
        }

        /** See {@link SamplingParams#frequencyPenalty()}. */
        public Builder frequencyPenalty(double frequencyPenalty) {
            this.frequencyPenalty = frequencyPenalty;
            return this;
        }

        /** See {@link SamplingParams#stopStrings()}. */
        public Builder stopStrings(List<String> stopStrings) {
            this.stopStrings = stopStrings;
            return this;
        }

        /** See {@link SamplingParams#stopTokenIds()}. */
        public Builder stopTokenIds(List<Integer> stopTokenIds) {
            this.stopTokenIds = stopTokenIds;
            return this;
        }

        /** See {@link SamplingParams#ignoreEos()}. */
        public Builder ignoreEos(boolean ignoreEos) {
            this.ignoreEos = ignoreEos;
            return this;
        }

        /** Asks for log-probabilities with n alternatives per generated token; see {@link SamplingParams#logprobs()}. */
        public Builder logprobs(int n) {
            this.logprobs = OptionalInt.of(n);
            return this;
        }

        /** Asks for log-probabilities with n alternatives per prompt token; see {@link SamplingParams#promptLogprobs()}. */
        public Builder promptLogprobs(int n) {
            this.promptLogprobs = OptionalInt.of(n);
            return this;
        }

        /** See {@link SamplingParams#skipSpecialTokens()}. */
        public Builder skipSpecialTokens(boolean skipSpecialTokens) {
            this.skipSpecialTokens = skipSpecialTokens;
            return this;
        }

        /** The validated record; throws {@link InvalidSamplingParamsException} naming the first bad field. */
        public SamplingParams build() {
            return new SamplingParams(maxTokens, temperature, topK, topP, minP, seed, repetitionPenalty,
                    presencePenalty, frequencyPenalty, stopStrings, stopTokenIds, ignoreEos, logprobs, promptLogprobs,
                    skipSpecialTokens);
        }
    }
}
