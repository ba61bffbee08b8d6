package org.flexllm.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.List;
import org.flexllm.Shared;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.model.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two tensor-parallel runs give the same bits, whichever rank's thread gets the CPU pool and whichever arrives
 * first at each collective: the all-reduces sum in rank order. Run (see the pom) with the JIT held at C1, whose
 * kernels compute alike from the first pass to the last, so that only the parallel machinery could tell the runs
 * apart.
 */
@Timeout(300)
class TensorParallelDeterminismTest {
    @Test
    void runsGiveTheSameBits() {
        try (Checkpoint checkpoint = Checkpoint.load(Shared.resolve("models/stories260K"));
             var tpModel = TensorParallelForwardTest.parallel(checkpoint.config(), checkpoint.weights(), 4)) {
            var runner = new TrainingRunner(tpModel.leader(), tpModel.cache(0), TensorParallelForwardTest.MAX_TOKENS);
            int[] ids = new int[24];
            Arrays.setAll(ids, i -> 1 + i * 13 % 500);
            List<float[]> first = TensorParallelForwardTest.logits(runner, ids);
            for (int run = 1; run < 4; run++) {
                List<float[]> again = TensorParallelForwardTest.logits(runner, ids);
                for (int t = 0; t < first.size(); t++) {
                    assertArrayEquals(first.get(t), again.get(t), "run " + run + " position " + t);
                }
            }
        }
    }
}
