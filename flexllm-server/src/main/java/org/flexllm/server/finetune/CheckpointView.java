package org.flexllm.server.finetune;

import java.util.Map;

/**
 * A checkpoint of a fine-tuning job, in OpenAI's shape.
 *
 * @param id                       {@code ftckpt-JOB-STEP}
 * @param object                   {@code fine_tuning.job.checkpoint}
 * @param createdAt                seconds since the epoch
 * @param fineTunedModelCheckpoint the job's model name with {@code :ckpt-step-N}
 * @param stepNumber               the step it holds the adapter after
 * @param metrics                  that step's {@code step} and {@code train_loss}, and with a validation file its
 *                                 {@code full_valid_loss} and {@code full_valid_mean_token_accuracy}
 * @param fineTuningJobId          the job
 */
public record CheckpointView(String id, String object, long createdAt, String fineTunedModelCheckpoint, int stepNumber,
                             Map<String, Object> metrics, String fineTuningJobId) {}
