package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.schedule.Policy;
import org.flexllm.sampling.SamplingParams;

/**
 * The target's own greedy continuation of every request of a run, decoded once without speculation, all at
 * once: what the {@code oracle:} draft simulation proposes from.
 */
public final class References {
    private References() {}

    /** Per request, its prompt followed by its greedy continuation, on a plain engine of {@code model}. */
    static List<int[]> greedy(String model, List<Planned> requests) {
        try (LlmEngine engine = LlmEngine.builder().model(model).policy(Policy.INFERENCE_ONLY).build()) {
            return greedy(engine, requests.stream().map(Planned::prompt).toList(),
                    requests.stream().mapToInt(p -> p.arrival().outputLen()).toArray());
        }
    }

    /** Each prompt followed by its greedy continuation of {@code maxTokens[i]} tokens (EOS ignored) on {@code engine}. */
    public static List<int[]> greedy(LlmEngine engine, List<int[]> prompts, int[] maxTokens) {
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(maxTokens[i]).ignoreEos(true)
                    .build();
            results.add(engine.submit(GenerationRequest.of(Prompt.ids(prompts.get(i))).withParams(params)));
        }
        List<int[]> references = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int[] output = results.get(i).join().ids().stream().mapToInt(Integer::intValue).toArray();
            references.add(IntStream.concat(IntStream.of(prompts.get(i)), IntStream.of(output)).toArray());
        }
        return references;
    }
}
