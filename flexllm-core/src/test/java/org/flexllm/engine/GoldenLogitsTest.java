package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.Shared;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.Checkpoint;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Full-sequence logits of every golden model (f32 and bf16 weights) against the float64 references. */
class GoldenLogitsTest {
    private static final double ATOL = 1e-4;

    static Stream<Path> folders() {
        return Shared.goldenModelFolders().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("folders")
    void logitsMatchReferenceOneShotAndChunked(Path folder) throws IOException {
        boolean bf16 = folder.getFileName().toString().equals("bf16");
        Path caseDir = bf16 ? folder.getParent() : folder;
        JsonNode inputs = new ObjectMapper().readTree(caseDir.resolve("reference/inputs.json").toFile());
        try (Checkpoint checkpoint = Checkpoint.load(folder); Arena arena = Arena.ofConfined();
             var runner = new SingleSequence(checkpoint.config(), checkpoint.weights(), 128)) {
            var reference = SafetensorsFile.open(caseDir.resolve("reference/logits.safetensors"), arena);
            JsonNode prompts = inputs.get("prompts");
            for (int i = 0; i < prompts.size(); i++) {
                int[] ids = ids(prompts.get(i));
                Tensor expected = reference.get((bf16 ? "logits_bf16." : "logits.") + i).orElseThrow();
                assertClose(expected, runner.logits(ids, ids.length), folder + " prompt " + i);
                assertClose(expected, runner.logits(ids, 5), folder + " prompt " + i + " in chunks of 5");
            }
        }
    }

    static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
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
