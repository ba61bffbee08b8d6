package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.Optional;
import org.flexllm.examples.bench.CoserveConfig;
import org.flexllm.examples.bench.CoserveHarness;
import org.flexllm.examples.bench.CoserveReport;
import org.flexllm.examples.bench.CoserveRun;
import org.flexllm.examples.bench.Timeline;
import org.flexllm.examples.bench.TimelinePlot;

/** {@code flexllm bench coserve}: one run of the co-serving harness, its report and, if asked, its plot. */
final class CoserveBench {
    private CoserveBench() {}

    static CoserveReport run(CoserveConfig config, Optional<Path> plot) throws InterruptedException {
        CoserveRun run = CoserveHarness.run(config);
        CoserveReport report = CoserveReport.of(config, run);
        plot.ifPresent(file -> TimelinePlot.write(Timeline.of(run, Timeline.binWidth(config.durationS())),
                report.policy() + " on " + report.model() + ", " + report.workload(), file));
        return report;
    }
}
