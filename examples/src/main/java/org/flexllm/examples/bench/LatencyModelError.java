package org.flexllm.examples.bench;

import java.util.List;
import java.util.Locale;

/**
 * How well the latency model the scheduler plans with predicted a run's iterations, and how often an iteration
 * outlasted what the SLOs allowed it. Errors are fractions (0.1 is 10%); they are null without iterations, the
 * share null without limited iterations.
 *
 * @param iterations        iterations measured
 * @param errorP50          median of |measured − predicted| / measured
 * @param errorP90          90th percentile of the same
 * @param limitedIterations iterations an SLO bounded (a finite limit)
 * @param overLimitShare    the share of those that took longer than their limit
 * @param finetuneOverLimitShare the share of those that carried finetuning work and took longer than their limit:
 *                          the co-serving scheduler's own misses (an iteration of inference alone that outlasts
 *                          the limit, because the requests' tokens take longer or a prompt's TTFT needs a larger
 *                          chunk, is not one the scheduler could have shortened)
 * @param overTpotShare     the share of the limited iterations that took longer than the TPOT target itself (null
 *                          when it is not known). The limit is the time until the most urgent request's next token
 *                          is due, so it is 0 while a request is behind its schedule, and every iteration then
 *                          counts as over it, however short; this share counts the iterations that a request
 *                          decoding one token per iteration could not afford at all.
 */
public record LatencyModelError(int iterations, Double errorP50, Double errorP90, int limitedIterations,
                                Double overLimitShare, Double finetuneOverLimitShare, Double overTpotShare) {
    /** The errors of {@code timings}, whose requests' TPOT target is not known. */
    public static LatencyModelError of(List<IterationTiming> timings) {
        return of(timings, Double.NaN);
    }

    /** The errors of {@code timings}, whose requests' TPOT target is {@code tpotMs} (NaN: not known). */
    public static LatencyModelError of(List<IterationTiming> timings, double tpotMs) {
        double[] errors = timings.stream().mapToDouble(IterationTiming::relativeError).toArray();
        List<IterationTiming> limited = timings.stream().filter(IterationTiming::limited).toList();
        long over = limited.stream().filter(IterationTiming::overLimit).count();
        long finetuneOver = limited.stream().filter(t -> t.overLimit() && t.finetuned()).count();
        long overTpot = limited.stream().filter(t -> t.measuredMs() > tpotMs).count();
        return new LatencyModelError(timings.size(), Percentile.of(errors, 50), Percentile.of(errors, 90),
                limited.size(), share(over, limited.size()), share(finetuneOver, limited.size()),
                Double.isNaN(tpotMs) ? null : share(overTpot, limited.size()));
    }

    private static Double share(long count, int of) {
        return of == 0 ? null : (double) count / of;
    }

    /** In words, for the report's table. */
    public String text() {
        return String.format(Locale.ROOT, "error p50 %s, p90 %s over %d iterations; %s of the %d with an SLO limit"
                        + " over it (%s with finetuning work; %s longer than the TPOT target)",
                CoserveReport.percent(errorP50), CoserveReport.percent(errorP90), iterations,
                CoserveReport.percent(overLimitShare), limitedIterations, CoserveReport.percent(finetuneOverLimitShare),
                CoserveReport.percent(overTpotShare));
    }
}
