package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.GoldenCase;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.Checkpoint;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Full-sequence logits of every golden model (f32 and bf16 weights) against the float64 references. */
class GoldenLogitsTest {
    private static final double ATOL = 1e-4;

    static Stream<GoldenCase> cases() {
        return GoldenCase.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsMatchReferenceOneShotAndChunked(GoldenCase golden) {
        try (Checkpoint checkpoint = Checkpoint.load(golden.folder()); Arena arena = Arena.ofConfined();
             var runner = new SingleSequence(checkpoint.config(), checkpoint.weights(), 128)) {
            var reference = SafetensorsFile.open(golden.caseDir().resolve("reference/logits.safetensors"), arena);
            JsonNode prompts = golden.inputs().get("prompts");
            for (int i = 0; i < prompts.size(); i++) {
                int[] ids = GoldenCase.ids(prompts.get(i));
                Tensor expected = reference.get(golden.key("logits") + "." + i).orElseThrow();
                assertClose(expected, runner.logits(ids, ids.length), golden + " prompt " + i);
                assertClose(expected, runner.logits(ids, 5), golden + " prompt " + i + " in chunks of 5");
            }
        }
    }

    static void assertClose(Tensor expected, List<float[]> actual, String what) {
        int vocab = expected.cols();
        assertEquals(expected.rows(), actual.size(), what + ": positions");
        double worst = 0;
        for (int t = 0; t < actual.size(); t++) {
            for (int v = 0; v < vocab; v++) {
                worst = Math.max(worst, Math.abs(expected.getFloat((long) t * vocab + v) - actual.get(t)[v]));
            }
        }
        if (worst > ATOL) {
            throw new AssertionError(what + ": max |logit error| " + worst + " > " + ATOL);
        }
    }
}
