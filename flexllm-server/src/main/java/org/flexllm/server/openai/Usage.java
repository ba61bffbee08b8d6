package org.flexllm.server.openai;

import java.util.List;
import org.flexllm.api.GenerationResult;

/**
 * Token counts of an answer: each prompt counted once however many choices it had, every choice's output.
 *
 * @param promptTokens     tokens of the prompts
 * @param completionTokens tokens generated
 * @param totalTokens      both
 */
public record Usage(int promptTokens, int completionTokens, int totalTokens) {
    /** The usage of {@code results}, where results {@code p·n .. p·n + n - 1} share prompt p. */
    static Usage of(List<GenerationResult> results, int n) {
        int prompt = 0;
        int completion = 0;
        for (int i = 0; i < results.size(); i++) {
            if (i % n == 0) {
                prompt += results.get(i).promptIds().size();
            }
            completion += results.get(i).ids().size();
        }
        return new Usage(prompt, completion, prompt + completion);
    }
}
