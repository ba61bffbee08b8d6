package org.flexllm.examples.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.random.RandomGenerator;
import org.flexllm.api.Slo;
import org.flexllm.schedule.Policy;

/**
 * One co-serving run: the model and policy, the workload, the SLO and the finetuning job. Names in messages are
 * the command line's options.
 *
 * @param model     a model folder or {@code synthetic:NAME}
 * @param policy    how the engine shares iterations between inference and finetuning
 * @param rate      Poisson arrivals per second, or null
 * @param trace     a trace to replay ({@link TraceFile}), or null; exactly one of the two unless the policy is
 *                  {@link Policy#FINETUNE_ONLY}, which submits no requests
 * @param durationS how long requests arrive; a trace's later arrivals are dropped
 * @param slo       every request's targets
 * @param promptLen the mean prompt length of Poisson arrivals
 * @param outputLen the mean output length of Poisson arrivals
 * @param ftData    a JSONL finetuning dataset, or null for random token sequences
 * @param ftSeqLen  the longest finetuning sample, and the length of random ones
 * @param loraR     the LoRA rank
 * @param seed      the seed of the arrivals, the prompts' ids and the random finetuning data
 * @param iterationTrace where the engine writes its iteration trace (JSON lines), or null
 */
public record CoserveConfig(String model, Policy policy, Double rate, Path trace, double durationS, Slo slo,
                            int promptLen, int outputLen, Path ftData, int ftSeqLen, int loraR, long seed,
                            Path iterationTrace) {
    /**
     * @throws IllegalArgumentException naming the option that is missing or out of range
     */
    public CoserveConfig {
        require(rate == null || trace == null, "give either --rate or --trace, not both");
        require(policy == Policy.FINETUNE_ONLY || rate != null || trace != null,
                "give --rate or --trace: policy " + policy.label() + " serves requests");
        require(rate == null || rate > 0, "--rate must be positive, is " + rate);
        require(durationS > 0, "--duration must be positive, is " + durationS);
        require(promptLen >= 1 && outputLen >= 1, "--prompt-len and --output-len must be at least 1, are "
                + promptLen + " and " + outputLen);
        require(ftSeqLen >= 2, "--ft-seq-len must be at least 2 (a token and the one it predicts), is " + ftSeqLen);
        require(loraR >= 1, "--lora-r must be at least 1, is " + loraR);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** This run under {@code other} targets. */
    public CoserveConfig withSlo(Slo other) {
        return new CoserveConfig(model, policy, rate, trace, durationS, other, promptLen, outputLen, ftData, ftSeqLen,
                loraR, seed, iterationTrace);
    }

    /**
     * The same requests, served alone under {@link Policy#INFERENCE_ONLY} and {@code slo}, for at most
     * {@code maxDurationS} (the first arrivals of the workload: the same seed draws the same ones first); no
     * iteration trace.
     */
    public CoserveConfig unloaded(Slo slo, double maxDurationS) {
        return new CoserveConfig(model, Policy.INFERENCE_ONLY, rate, trace, Math.min(durationS, maxDurationS), slo,
                promptLen, outputLen, ftData, ftSeqLen, loraR, seed, null);
    }

    /** Whether requests are submitted. */
    public boolean servesRequests() {
        return policy != Policy.FINETUNE_ONLY;
    }

    /** Whether a finetuning job runs beside the requests. */
    public boolean finetunes() {
        return policy != Policy.INFERENCE_ONLY;
    }

    /** The finetuning data as the report names it: the file, {@code synthetic}, or null when no job runs. */
    public String ftDataLabel() {
        return !finetunes() ? null : ftData == null ? "synthetic" : ftData.toString();
    }

    /** The requests to submit, in order; none under {@link Policy#FINETUNE_ONLY}. */
    public List<Arrival> arrivals(RandomGenerator random) {
        return !servesRequests() ? List.of()
                : rate != null ? Workload.poisson(rate, durationS, LogNormalLength.around(promptLen),
                        LogNormalLength.around(outputLen), random)
                : TraceFile.read(trace).stream().filter(a -> a.timeS() < durationS).toList();
    }
}
