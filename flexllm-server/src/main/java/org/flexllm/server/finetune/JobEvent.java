package org.flexllm.server.finetune;

import java.util.Map;

/**
 * An event of a fine-tuning job, in OpenAI's shape: a message, a step's metrics ({@code data}: step, train_loss), or
 * a validation's (step, full_valid_loss, full_valid_mean_token_accuracy).
 *
 * @param id        {@code ftevent-JOB-N}, in order
 * @param object    {@code fine_tuning.job.event}
 * @param createdAt seconds since the epoch
 * @param level     {@code info}, {@code warn} or {@code error}
 * @param message   what happened
 * @param type      {@code message} or {@code metrics}
 * @param data      a step's metrics, or an empty map
 */
public record JobEvent(String id, String object, long createdAt, String level, String message, String type,
                       Map<String, Object> data) {
    static JobEvent message(String id, String level, String message) {
        return new JobEvent(id, "fine_tuning.job.event", System.currentTimeMillis() / 1000, level, message,
                "message", Map.of());
    }

    static JobEvent step(String id, int step, int totalSteps, double loss) {
        return new JobEvent(id, "fine_tuning.job.event", System.currentTimeMillis() / 1000, "info",
                "Step " + step + "/" + totalSteps + ": training loss=" + loss, "metrics",
                Map.of("step", step, "total_steps", totalSteps, "train_loss", loss));
    }

    static JobEvent validation(String id, int step, int totalSteps, double loss, double accuracy) {
        return new JobEvent(id, "fine_tuning.job.event", System.currentTimeMillis() / 1000, "info",
                "Step " + step + "/" + totalSteps + ": full validation loss=" + loss
                        + ", full validation mean token accuracy=" + accuracy, "metrics",
                Map.of("step", step, "total_steps", totalSteps, "full_valid_loss", loss,
                        "full_valid_mean_token_accuracy", accuracy));
    }

    /** Whether this is a validation's metrics. */
    boolean isValidation() {
        return data.containsKey("full_valid_loss");
    }

    /** The step of a metrics event, or 0. */
    int step() {
        return data.get("step") instanceof Number n ? n.intValue() : 0;
    }
}
