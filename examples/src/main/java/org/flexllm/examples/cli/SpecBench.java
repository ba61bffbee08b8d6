package org.flexllm.examples.cli;

import org.flexllm.examples.bench.CoserveConfig;
import org.flexllm.examples.bench.CoserveHarness;
import org.flexllm.examples.bench.CoserveRun;
import org.flexllm.examples.bench.SloMix;
import org.flexllm.examples.bench.SpecReport;

/**
 * {@code flexllm bench spec}: a run of the serving harness whose requests draw latency classes from a mix and
 * decode speculatively (or not, {@code --spec-policy none}), and its report.
 */
final class SpecBench {
    private SpecBench() {}

    static SpecReport run(CoserveConfig config, SloMix mix, SpeculationOptions speculation)
            throws InterruptedException {
        CoserveRun run = CoserveHarness.run(config, mix,
                speculation.speculates() ? speculation.benchmark(config.seed()) : null);
        return SpecReport.of(config, mix, speculation.draftLabel(), speculation.policy().cliName(), run);
    }
}
