package org.flexllm.examples.bench;

import java.util.random.RandomGenerator;

/**
 * Long-tailed token lengths: a lognormal with the given mean, rounded to a whole token and at least 1. Real
 * prompt and output lengths are skewed this way: most are shorter than the mean, a few are several times longer.
 *
 * @param mean  the mean length in tokens
 * @param sigma the standard deviation of the length's logarithm; larger is more skewed
 */
public record LogNormalLength(double mean, double sigma) {
    /** Close to the spread of the prompt and output lengths in published LLM serving traces. */
    public static final double DEFAULT_SIGMA = 0.9;

    public LogNormalLength {
        if (!(mean >= 1) || !(sigma >= 0)) {
            throw new IllegalArgumentException("a length distribution needs a mean >= 1 and sigma >= 0, not " + mean
                    + " and " + sigma);
        }
    }

    /** Lengths around {@code mean} with {@link #DEFAULT_SIGMA}. */
    public static LogNormalLength around(double mean) {
        return new LogNormalLength(mean, DEFAULT_SIGMA);
    }

    /** One length. */
    public int sample(RandomGenerator random) {
        // E[exp(mu + sigma Z)] = exp(mu + sigma²/2), so this mu gives the asked mean.
        double mu = Math.log(mean) - sigma * sigma / 2;
        double length = Math.exp(mu + sigma * random.nextGaussian());
        return Math.clamp(Math.round(length), 1, Integer.MAX_VALUE);
    }
}
