package org.flexllm.server.finetune;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.server.ApiError;
import org.flexllm.server.Fields;
import org.flexllm.server.Json;

/**
 * Any bytes as the body of a file upload ({@code POST /v1/files}, multipart form data) or of
 * {@code POST /v1/fine_tuning/jobs}: the server reads the parts or the job, or refuses the body with an
 * {@link ApiError}. Seeds: {@code FineTuningRequestFuzzTestInputs}.
 */
class FineTuningRequestFuzzTest {
    private static final String CONTENT_TYPE = "multipart/form-data; boundary=XyZ";

    // libFuzzer's dictionary format takes no line breaks; the seed has the CRLFs.
    @DictionaryEntries({"--XyZ", "--XyZ--", "Content-Disposition: form-data; name=\"", "\"; filename=\"",
            "name=\"file\"", "name=\"purpose\"", "fine-tune"})
    @FuzzTarget
    void multipart(byte[] body) {
        FuzzInputs.resultOr(ApiError.class, () -> Multipart.parse(CONTENT_TYPE, body));
    }

    @DictionaryEntries({"\"model\"", "\"training_file\"", "\"validation_file\"", "\"suffix\"", "\"seed\"",
            "\"method\"", "\"type\"", "\"supervised\"", "\"hyperparameters\"", "\"n_epochs\"", "\"batch_size\"",
            "\"learning_rate_multiplier\"", "\"auto\"", "\"lora\"", "\"r\"", "\"alpha\"", "\"dropout\"",
            "\"target_modules\"", "\"all\"", "\"q_proj\"", "null", "1e308", "-1", "0"})
    @FuzzTarget
    void jobSpec(byte[] body) {
        FuzzInputs.resultOr(ApiError.class, () -> JobSpec.read(Fields.of(Json.parseObject(body))));
    }
}
