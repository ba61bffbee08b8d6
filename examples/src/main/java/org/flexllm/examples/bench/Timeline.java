package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * A run cut into intervals of equal width, to see how load and finetuning evolved; the last one takes the
 * remainder, between half and one and a half widths, so that no sliver of an interval makes a spike.
 */
public final class Timeline {
    /** Enough intervals to see a trend, few enough that each holds several arrivals. */
    private static final int BINS_PER_DURATION = 30;

    private Timeline() {}

    /** One second, or a thirtieth of the duration when that is longer. */
    public static double binWidth(double durationS) {
        return Math.max(1, durationS / BINS_PER_DURATION);
    }

    /**
     * The run's intervals of {@code widthS} seconds up to its wall time: requests by their arrival, finetuning
     * tokens by the end of the iteration that completed them.
     */
    public static List<TimelineBin> of(CoserveRun run, double widthS) {
        int n = (int) Math.max(1, Math.round(run.wallS() / widthS));
        int[] arrivals = new int[n];
        int[] met = new int[n];
        long[] tokens = new long[n];
        for (RequestOutcome o : run.outcomes()) {
            int bin = index(o.arrivalS(), widthS, n);
            arrivals[bin]++;
            met[bin] += o.sloMet() ? 1 : 0;
        }
        for (FinetuneProgress p : run.finetune()) {
            tokens[index(p.atS(), widthS, n)] += p.tokens();
        }
        List<TimelineBin> bins = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double start = i * widthS;
            double width = i < n - 1 ? widthS : run.wallS() - start;
            bins.add(new TimelineBin(start, width, arrivals[i], met[i], tokens[i]));
        }
        return List.copyOf(bins);
    }

    private static int index(double atS, double widthS, int n) {
        return Math.clamp((long) Math.floor(atS / widthS), 0, n - 1);
    }
}
