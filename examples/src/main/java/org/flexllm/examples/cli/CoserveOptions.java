package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.Optional;
import org.flexllm.api.Slo;
import org.flexllm.examples.bench.CoserveConfig;
import org.flexllm.schedule.Policy;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options of {@code flexllm bench coserve} besides those it shares with the other modes ({@code --model},
 * {@code --prompt-len}, {@code --output-len}, {@code --lora-r}, {@code --json}).
 */
final class CoserveOptions {
    /** The data a job trains on when {@code --ft-data} names no file. */
    private static final String SYNTHETIC = "synthetic";

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--policy", paramLabel = "POLICY", converter = PolicyConverter.class,
            description = "coserve: coserve, temporal, spatial, inference-only or finetune-only.")
    private Policy policy;

    @Option(names = "--rate", paramLabel = "R", description = "coserve: Poisson arrivals, requests per second.")
    private Double rate;

    @Option(names = "--trace", paramLabel = "FILE.csv", description = "coserve: arrivals replayed from CSV lines"
            + " timestamp_s,prompt_len,output_len (a header line is optional), instead of --rate.")
    private Path trace;

    @Option(names = "--duration", paramLabel = "S", description = "coserve: seconds during which requests arrive.")
    private Double durationS;

    @Option(names = "--slo-ttft-ms", paramLabel = "Y", description = "coserve: every request's time-to-first-token"
            + " target.")
    private Double sloTtftMs;

    @Option(names = "--slo-tpot-ms", paramLabel = "X", description = "coserve: every request's time-per-output-token"
            + " target.")
    private Double sloTpotMs;

    @Option(names = "--ft-data", defaultValue = SYNTHETIC, paramLabel = "FILE|synthetic", description = "coserve: the"
            + " finetuning data, a JSONL dataset (as for finetune) or random token sequences.")
    private String ftData;

    @Option(names = "--ft-seq-len", defaultValue = "256", paramLabel = "L",
            description = "coserve: the longest finetuning sample, and the length of the synthetic ones.")
    private int ftSeqLen;

    @Option(names = "--iteration-trace", paramLabel = "FILE.jsonl", description = "coserve: write every iteration's"
            + " composition, predicted and measured latency and SLO limit to this file, one JSON object per line.")
    private Path iterationTrace;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
            description = "coserve: the seed of the arrivals, their lengths, the prompts' ids and synthetic data.")
    private long seed;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "coserve: draw the arrival rate, the SLO"
            + " attainment and the finetuning throughput over time to this PNG.")
    private Path plot;

    /** Converts {@code --policy} from its label ({@code inference-only}, ...). */
    static final class PolicyConverter implements ITypeConverter<Policy> {
        @Override
        public Policy convert(String label) {
            return Policy.parse(label);
        }
    }

    /**
     * The run these options and the shared ones describe.
     *
     * @throws ParameterException naming a missing or invalid option
     */
    CoserveConfig config(String model, int promptLen, int outputLen, int loraR) {
        require(policy != null, "--policy");
        require(durationS != null, "--duration");
        require(sloTtftMs != null, "--slo-ttft-ms");
        require(sloTpotMs != null, "--slo-tpot-ms");
        Path data = ftData.equals(SYNTHETIC) ? null : Path.of(ftData);
        try {
            return new CoserveConfig(model, policy, rate, trace, durationS, new Slo(sloTtftMs, sloTpotMs), promptLen,
                    outputLen, data, ftSeqLen, loraR, seed, iterationTrace);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    Optional<Path> plot() {
        return Optional.ofNullable(plot);
    }

    private void require(boolean given, String option) {
        if (!given) {
            throw new ParameterException(spec.commandLine(), "coserve needs " + option);
        }
    }
}
