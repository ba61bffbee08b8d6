package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import org.flexllm.examples.bench.CoserveConfig;
import org.flexllm.examples.bench.CoserveHarness;
import org.flexllm.examples.bench.CoserveReport;
import org.flexllm.examples.bench.CoserveRun;
import org.flexllm.examples.bench.SloCalibration;
import org.flexllm.examples.bench.SloFactors;
import org.flexllm.examples.bench.Timeline;
import org.flexllm.examples.bench.TimelinePlot;

/**
 * {@code flexllm bench coserve}: one run of the co-serving harness, after the unloaded run that sets its SLO if
 * {@code --slo-auto} asked for one, its report and, if asked, its plot.
 */
final class CoserveBench {
    private CoserveBench() {}

    /**
     * @param auto     the factors of {@code --slo-auto}, or empty when {@code config}'s targets were given
     * @param progress where to say what the calibration chose before the measured run starts (stderr: stdout
     *                 holds only the report)
     */
    static CoserveReport run(CoserveConfig config, Optional<SloFactors> auto, Optional<Path> plot,
                             PrintWriter progress) throws InterruptedException {
        SloCalibration calibration = auto.isPresent() ? calibrate(config, auto.get(), progress) : null;
        CoserveConfig measured = calibration == null ? config : config.withSlo(calibration.slo());
        CoserveRun run = CoserveHarness.run(measured);
        CoserveReport report = CoserveReport.of(measured, run, calibration);
        plot.ifPresent(file -> TimelinePlot.write(Timeline.of(run, Timeline.binWidth(measured.durationS())),
                report.policy() + " on " + report.model() + ", " + report.workload(), file));
        return report;
    }

    private static SloCalibration calibrate(CoserveConfig config, SloFactors factors, PrintWriter progress)
            throws InterruptedException {
        progress.printf(Locale.ROOT, "flexllm bench: --slo-auto: running the workload unloaded (inference-only)"
                + " for %.1f s...%n", Math.min(config.durationS(), SloCalibration.MAX_DURATION_S));
        progress.flush();
        SloCalibration c = SloCalibration.measure(config, factors);
        progress.printf(Locale.ROOT, "flexllm bench: --slo-auto: unloaded TPOT p50 %.2f ms, TTFT p99 %.2f ms;"
                        + " targets TPOT %.2f ms, TTFT %.2f ms%n", c.unloadedTpotP50Ms(), c.unloadedTtftP99Ms(),
                c.sloTpotMs(), c.sloTtftMs());
        progress.flush();
        return c;
    }
}
