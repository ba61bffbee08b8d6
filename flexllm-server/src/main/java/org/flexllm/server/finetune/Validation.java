package org.flexllm.server.finetune;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.server.ApiError;

/**
 * A validation file's loss under an adapter, as OpenAI reports it at each epoch's end: the mean cross-entropy over
 * the examples' trained tokens ({@code full_valid_loss}, the measure the training loss uses) and how often the
 * most likely token was the label ({@code full_valid_mean_token_accuracy}). The serving engine scores the
 * examples itself, as requests for their prompt log-probabilities that ride in the same iterations as everyone
 * else's requests and the training: the evaluation is inference, and co-serving serves it.
 *
 * @param loss              mean negative log-likelihood of the labels
 * @param meanTokenAccuracy the share of labels that were the most likely token
 */
record Validation(double loss, double meanTokenAccuracy) {
    /** Examples scored at once: enough to batch, few enough that user requests do not queue behind a big file. */
    private static final int IN_FLIGHT = 8;
    private static final SamplingParams SCORING = SamplingParams.builder().temperature(0).maxTokens(1)
            .promptLogprobs(1).build();

    /**
     * Checks that the examples can be scored: prompt log-probabilities are those of the input tokens, so each
     * trained label must be its position's input token (as every text format makes it), and one must be trained.
     *
     * @throws ApiError 400 naming the validation file otherwise
     */
    static List<TrainingExample> checked(List<TrainingExample> examples, String file) {
        for (int i = 0; i < examples.size(); i++) {
            int[] ids = examples.get(i).inputIds();
            int[] labels = examples.get(i).labels();
            for (int t = 1; t < labels.length; t++) {
                if (labels[t] != TrainingExample.IGNORE && labels[t] != ids[t]) {
                    throw ApiError.badRequest("validation file " + file + ", example " + (i + 1) + ": label "
                            + labels[t] + " at position " + t + " is not the input token " + ids[t]
                            + "; validation scores the input tokens", "validation_file");
                }
            }
        }
        if (examples.stream().mapToInt(TrainingExample::targets).sum() == 0) {
            throw ApiError.badRequest("validation file " + file + " has no trained token to score", "validation_file");
        }
        return examples;
    }

    /**
     * Scores {@code examples} (as {@link #checked} lets through) on {@code engine} under the named adapter.
     *
     * @param stop asked between batches; when it says so, the scoring ends with a {@link CancellationException}
     */
    static Validation score(LlmEngine engine, String adapter, List<TrainingExample> examples, BooleanSupplier stop) {
        double nll = 0;
        long correct = 0;
        long targets = 0;
        for (int from = 0; from < examples.size(); from += IN_FLIGHT) {
            if (stop.getAsBoolean()) {
                throw new CancellationException("validation stopped: the server is shutting down");
            }
            List<TrainingExample> batch = examples.subList(from, Math.min(examples.size(), from + IN_FLIGHT));
            List<CompletableFuture<GenerationResult>> scored = batch.stream().map(e -> engine.submit(
                    new GenerationRequest(Prompt.ids(e.inputIds()), SCORING, null, adapter))).toList();
            for (int i = 0; i < batch.size(); i++) {
                int[] labels = batch.get(i).labels();
                List<SampledToken> logprobs = scored.get(i).join().promptLogprobs();
                for (int t = 1; t < labels.length; t++) {
                    if (labels[t] != TrainingExample.IGNORE) {
                        SampledToken token = logprobs.get(t);
                        nll -= token.logprob();
                        correct += token.topLogprobs().getFirst().id() == labels[t] ? 1 : 0;
                        targets++;
                    }
                }
            }
        }
        return new Validation(nll / targets, (double) correct / targets);
    }
}
