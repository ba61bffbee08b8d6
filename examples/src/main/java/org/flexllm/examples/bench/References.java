package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.schedule.Policy;

/**
 * The target's own greedy continuation of every request of a run, decoded once without speculation, all at
 * once: what the {@code oracle:} draft simulation proposes from.
 */
final class References {
    private References() {}

    /** Per request, its prompt followed by its greedy continuation. */
    static List<int[]> greedy(String model, List<Planned> requests) {
        try (LlmEngine engine = LlmEngine.builder().model(model).policy(Policy.INFERENCE_ONLY).build()) {
            List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
            for (Planned p : requests) {
                results.add(engine.submit(RequestDriver.request(p)));
            }
            List<int[]> references = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                int[] prompt = requests.get(i).prompt();
                int[] output = results.get(i).join().ids().stream().mapToInt(Integer::intValue).toArray();
                references.add(IntStream.concat(IntStream.of(prompt), IntStream.of(output)).toArray());
            }
            return references;
        }
    }
}
