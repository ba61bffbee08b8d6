package org.flexllm.server.finetune;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A succeeded job's result file, in the columns of OpenAI's {@code step_metrics.csv}: a row per step with its
 * training loss, and at the steps whose checkpoint was validated the validation loss and mean token accuracy over
 * the whole validation file; what is not measured (training accuracy, validation elsewhere) is left empty.
 */
final class StepMetrics {
    private static final String HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n";

    private StepMetrics() {}

    /** The CSV of a job's events. */
    static byte[] csv(List<JobEvent> events) {
        Map<Integer, String[]> rows = new TreeMap<>();
        for (JobEvent e : events) {
            Map<String, Object> d = e.data();
            if (d.containsKey("train_loss")) {
                row(rows, e.step())[0] = String.valueOf(d.get("train_loss"));
            } else if (e.isValidation()) {
                row(rows, e.step())[1] = String.valueOf(d.get("full_valid_loss"));
                row(rows, e.step())[2] = String.valueOf(d.get("full_valid_mean_token_accuracy"));
            }
        }
        StringBuilder csv = new StringBuilder(HEADER);
        // train_accuracy is not measured: its column stays empty.
        rows.forEach((step, row) -> csv.append(step).append(',').append(row[0]).append(",,").append(row[1])
                .append(',').append(row[2]).append('\n'));
        return csv.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A step's train_loss, valid_loss and valid_mean_token_accuracy, empty until known. */
    private static String[] row(Map<Integer, String[]> rows, int step) {
        return rows.computeIfAbsent(step, s -> new String[] {"", "", ""});
    }
}
