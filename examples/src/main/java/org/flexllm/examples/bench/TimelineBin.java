package org.flexllm.examples.bench;

/**
 * One interval of a run's timeline.
 *
 * @param startS         its start, in seconds after the start of the run
 * @param widthS         its length in seconds
 * @param arrivals       requests that arrived in it
 * @param sloMet         of those, the ones that met their SLO
 * @param finetuneTokens tokens of finetuning samples whose backward completed in it
 */
public record TimelineBin(double startS, double widthS, int arrivals, int sloMet, long finetuneTokens) {
    /** The middle of the interval, where a plot puts its values. */
    public double midS() {
        return startS + widthS / 2;
    }

    /** Requests per second. */
    public double arrivalRate() {
        return arrivals / widthS;
    }

    /** The share of the requests arriving in it that met their SLO; NaN when none arrived. */
    public double sloAttainment() {
        return arrivals == 0 ? Double.NaN : (double) sloMet / arrivals;
    }

    /** Finetuning tokens per second. */
    public double finetuneTokensPerS() {
        return finetuneTokens / widthS;
    }
}
