package org.flexllm.spec;

import java.nio.file.Path;

/**
 * Where draft tokens come from, as the {@code --draft} option spells it: {@code ngram} (or {@code ngram:N}),
 * {@code oracle:ALPHA}, {@code layers:N}, or the folder of a draft model sharing the target's vocabulary.
 * {@link #parse} reads that form; checks that need the model (N below its layer count, the draft's
 * vocabulary) belong to whoever loads it.
 */
public sealed interface DraftSpec {
    /** Prompt lookup ({@link NgramDrafter}), matching n-grams of up to {@code maxN} tokens. */
    record Ngram(int maxN) implements DraftSpec {
        public Ngram {
            if (maxN < 1) {
                throw new InvalidSpeculationException("draft ngram:N needs N >= 1 (the longest n-gram matched), got "
                        + maxN);
            }
        }
    }

    /**
     * The benchmark-only simulated draft ({@link OracleDrafter}): the target's greedy token with probability
     * {@code alpha}, in (0, 1].
     */
    record Oracle(double alpha) implements DraftSpec {
        public Oracle {
            checkAlpha(alpha);
        }

        static void checkAlpha(double alpha) {
            if (!(alpha > 0 && alpha <= 1)) {
                throw new InvalidSpeculationException("draft oracle:ALPHA needs ALPHA in (0, 1], the chance that a"
                        + " drafted token is the target's own; got " + alpha);
            }
        }
    }

    /** Early exit: the target's own first {@code count} layers, final norm and lm_head, without extra weights. */
    record Layers(int count) implements DraftSpec {
        public Layers {
            if (count < 1) {
                throw new InvalidSpeculationException("draft layers:N needs N >= 1 (and below the model's layer"
                        + " count), got " + count);
            }
        }
    }

    /** A separate draft model, read from a Hugging Face model folder. */
    record Model(Path folder) implements DraftSpec {
        public Model {
            if (folder == null || folder.toString().isBlank()) {
                throw new InvalidSpeculationException("a draft model needs a folder, got none");
            }
        }
    }

    /**
     * Reads a draft spec: {@code ngram}, {@code ngram:N}, {@code oracle:ALPHA}, {@code layers:N}, else a folder.
     *
     * @throws InvalidSpeculationException when the text is blank, a number is missing or malformed, or a value
     *                                     is out of range; the message names the accepted forms
     */
    static DraftSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw invalid(spec, "it is empty");
        }
        String text = spec.strip();
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        String argument = colon < 0 ? null : text.substring(colon + 1);
        return switch (kind) {
            case "ngram" -> new Ngram(argument == null ? NgramDrafter.DEFAULT_MAX_N : integer(spec, argument));
            case "oracle" -> new Oracle(number(spec, argument));
            case "layers" -> new Layers(integer(spec, argument));
            default -> new Model(Path.of(text));
        };
    }

    private static int integer(String spec, String argument) {
        try {
            return Integer.parseInt(required(spec, argument));
        } catch (NumberFormatException e) {
            throw invalid(spec, "'" + argument + "' is not a whole number");
        }
    }

    private static double number(String spec, String argument) {
        try {
            return Double.parseDouble(required(spec, argument));
        } catch (NumberFormatException e) {
            throw invalid(spec, "'" + argument + "' is not a number");
        }
    }

    private static String required(String spec, String argument) {
        if (argument == null || argument.isBlank()) {
            throw invalid(spec, "the value after the colon is missing");
        }
        return argument.strip();
    }

    private static InvalidSpeculationException invalid(String spec, String problem) {
        return new InvalidSpeculationException("draft spec '" + spec + "' cannot be read: " + problem
                + "; use ngram, ngram:N, oracle:ALPHA (benchmarks only), layers:N or a draft model folder");
    }
}
