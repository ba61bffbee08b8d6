package org.flexllm.server.finetune;

import java.util.List;
import java.util.Map;

/**
 * A fine-tuning job's state as kept on disk ({@code jobs/ID/job.json}) and shown, in OpenAI's shape, by the API.
 *
 * @param id             {@code ftjob-...}
 * @param createdAt      seconds since the epoch
 * @param spec           what was asked
 * @param status         {@code running}, {@code succeeded}, {@code failed} or {@code cancelled}
 * @param fineTunedModel the name requests use for the trained adapter, set when the job succeeds
 * @param finishedAt     when it ended, or null
 * @param error          why it failed, or null
 * @param trainedTokens  tokens trained on, set when it succeeds
 * @param resultFiles    the ids of its result files (its step metrics as CSV), set when it succeeds; null before
 */
public record JobState(String id, long createdAt, JobSpec spec, String status, String fineTunedModel,
                       Long finishedAt, Error error, Long trainedTokens, List<String> resultFiles) {
    static final String RUNNING = "running";
    static final String SUCCEEDED = "succeeded";
    static final String FAILED = "failed";
    static final String CANCELLED = "cancelled";

    /** Why a job failed. */
    public record Error(String code, String message, String param) {}

    /** The hyperparameters as OpenAI shows them. */
    public record Hyperparameters(int batchSize, double learningRateMultiplier, int nEpochs) {}

    /** OpenAI's fine-tuning job object. */
    public record View(String id, String object, long createdAt, Error error, String fineTunedModel, Long finishedAt,
                       Hyperparameters hyperparameters, String model, String organizationId, List<String> resultFiles,
                       long seed, String status, Long trainedTokens, String trainingFile, String validationFile,
                       Map<String, Object> method) {}

    boolean isRunning() {
        return RUNNING.equals(status);
    }

    JobState ended(String status, Error error, Long trainedTokens, List<String> resultFiles) {
        return new JobState(id, createdAt, spec, status, fineTunedModel, System.currentTimeMillis() / 1000, error,
                trainedTokens, resultFiles);
    }

    View view() {
        Hyperparameters h = new Hyperparameters(spec.batchSize(), spec.learningRateMultiplier(), spec.nEpochs());
        Map<String, Object> method = Map.of("type", "supervised", "supervised", Map.of("hyperparameters", h),
                "lora", spec.lora());
        return new View(id, "fine_tuning.job", createdAt, error, SUCCEEDED.equals(status) ? fineTunedModel : null,
                finishedAt, h, spec.model(), "flexllm", resultFiles == null ? List.of() : resultFiles, spec.seed(),
                status, trainedTokens,
                spec.trainingFile(), spec.validationFile(), method);
    }
}
