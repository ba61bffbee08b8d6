package org.flexllm.examples.soak;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bytes of the objects alive on the Java heap, the total of the class histogram ({@code jcmd PID
 * GC.class_histogram}, which collects first). The heap's "used" figure is no measure of them under ZGC: it counts
 * whole pages, 2 MiB small and 32 MiB medium ones, so a 10,000-request soak read 20 → 52 MiB, exactly one medium
 * page more (likely for one object over 256 KB, such as the 66,000 references of the job's history of steps), while
 * two histograms of a 4,000-request soak showed only the job's step records and the harness's outcomes growing.
 */
final class LiveHeap {
    private static final Pattern TOTAL = Pattern.compile("^Total\\s+\\d+\\s+(\\d+)\\s*$", Pattern.MULTILINE);

    private LiveHeap() {}

    /** Live bytes now, after a full collection. */
    static long bytes() {
        return total(histogram());
    }

    /**
     * The total bytes of a class histogram's text.
     *
     * @throws IllegalStateException when the text has no total line
     */
    static long total(String histogram) {
        Matcher m = TOTAL.matcher(histogram);
        if (!m.find()) {
            throw new IllegalStateException("no total in the class histogram: " + histogram.strip());
        }
        return Long.parseLong(m.group(1));
    }

    private static String histogram() {
        return DiagnosticCommands.run("gcClassHistogram");
    }
}
