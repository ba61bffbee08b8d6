package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.flexllm.api.Slo;
import org.flexllm.examples.bench.CoserveConfig;
import org.flexllm.examples.bench.SloCalibration;
import org.flexllm.examples.bench.SloMix;
import org.flexllm.examples.bench.SloFactors;
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

    @Option(names = "--slo-tpot-ms", paramLabel = "X", split = ",", description = "coserve: every request's"
            + " time-per-output-token target; spec: one per latency class, e.g. 30,50,120.")
    private List<Double> sloTpotMs;

    @Option(names = "--slo-mix", paramLabel = "SHARES", split = ",", description = "spec: each latency class's share"
            + " of the requests, in the order of --slo-tpot-ms, summing to 1 (default: equal shares).")
    private List<Double> sloMix;

    @Option(names = "--slo-auto", description = "coserve: set the targets from the same workload run unloaded first"
            + " (inference-only, no targets, the requested --duration up to " + SloCalibration.MAX_DURATION_S
            + " s): TPOT target = --slo-tpot-factor x its median per-request TPOT, TTFT target = --slo-ttft-factor x"
            + " its p99 TTFT."
            + " Instead of --slo-ttft-ms and --slo-tpot-ms. At a rate that overloads even inference-only the targets"
            + " come out loose: calibrate at a low rate and pass them explicitly to compare rates"
            + " (scripts/coserve-sweep.sh does).")
    private boolean sloAuto;

    @Option(names = "--slo-tpot-factor", defaultValue = "1.5", paramLabel = "F",
            description = "coserve --slo-auto: the TPOT target over the unloaded median TPOT.")
    private double sloTpotFactor;

    @Option(names = "--slo-ttft-factor", defaultValue = "3", paramLabel = "F",
            description = "coserve --slo-auto: the TTFT target over the unloaded p99 TTFT.")
    private double sloTtftFactor;

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
     * The run these options and the shared ones describe. Under {@code --slo-auto} its targets are
     * {@link SloCalibration#NONE} until the calibration sets them.
     *
     * @throws ParameterException naming a missing or invalid option
     */
    CoserveConfig config(String model, int promptLen, int outputLen, int loraR) {
        require(policy != null, "--policy");
        return config(model, policy, promptLen, outputLen, loraR);
    }

    /**
     * The run of {@code bench spec}: as {@link #config}, its policy inference-only unless {@code --policy} co-serves
     * a job, its SLO the first latency class (each request draws its own from {@link #sloMix()}).
     */
    CoserveConfig specConfig(String model, int promptLen, int outputLen, int loraR) {
        return config(model, policy == null ? Policy.INFERENCE_ONLY : policy, promptLen, outputLen, loraR);
    }

    private CoserveConfig config(String model, Policy policy, int promptLen, int outputLen, int loraR) {
        require(durationS != null, "--duration");
        Slo slo = sloAuto ? SloCalibration.NONE : givenSlo();
        Path data = ftData.equals(SYNTHETIC) ? null : Path.of(ftData);
        return parameter(() -> new CoserveConfig(model, policy, rate, trace, durationS, slo, promptLen, outputLen,
                data, ftSeqLen, loraR, seed, iterationTrace));
    }

    long seed() {
        return seed;
    }

    /**
     * decode: the engine's default targets when {@code --slo-tpot-ms} is given (speculation sizes its trees to the
     * tightest TPOT; a loose one lets them grow), with {@code --slo-ttft-ms} or a TTFT that never binds.
     */
    Optional<Slo> decodeSlo() {
        return sloTpotMs == null ? Optional.empty()
                : Optional.of(parameter(() -> new Slo(sloTtftMs == null ? 1e9 : sloTtftMs, sloTpotMs.get(0))));
    }

    /**
     * The factors of {@code --slo-auto}, or empty when the targets are given.
     *
     * @throws ParameterException when they conflict with the given targets, or the policy serves no requests
     */
    Optional<SloFactors> sloAuto() {
        if (!sloAuto) {
            check(!given("--slo-tpot-factor") && !given("--slo-ttft-factor"),
                    "--slo-tpot-factor and --slo-ttft-factor need --slo-auto");
            return Optional.empty();
        }
        check(sloTtftMs == null && sloTpotMs == null,
                "--slo-auto sets the targets itself: give it or --slo-ttft-ms and --slo-tpot-ms, not both");
        check(policy != Policy.FINETUNE_ONLY, "--slo-auto measures requests: policy finetune-only serves none");
        return Optional.of(parameter(() -> new SloFactors(sloTpotFactor, sloTtftFactor)));
    }

    private Slo givenSlo() {
        require(sloTtftMs != null, "--slo-ttft-ms (or --slo-auto)");
        require(sloTpotMs != null, "--slo-tpot-ms (or --slo-auto)");
        check(sloTpotMs.size() == 1 || sloMix != null, "one --slo-tpot-ms target, or several with --slo-mix (spec)");
        return parameter(() -> new Slo(sloTtftMs, sloTpotMs.get(0)));
    }

    /** The latency classes: every --slo-tpot-ms target with its --slo-mix share (equal shares by default). */
    SloMix sloMix() {
        require(sloTtftMs != null, "--slo-ttft-ms");
        require(sloTpotMs != null, "--slo-tpot-ms");
        List<Double> shares = sloMix != null ? sloMix
                : Collections.nCopies(sloTpotMs.size(), 1.0 / sloTpotMs.size());
        return parameter(() -> SloMix.of(sloTtftMs, sloTpotMs, shares));
    }

    /** What {@code make} makes; the {@link IllegalArgumentException} it throws as a command-line error. */
    private <T> T parameter(Supplier<T> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    Optional<Path> plot() {
        return Optional.ofNullable(plot);
    }

    private void require(boolean given, String option) {
        check(given, "coserve needs " + option);
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }
}
