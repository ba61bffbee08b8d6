package org.flexllm.server.finetune;

import java.util.List;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.TargetModules;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.server.ApiError;
import org.flexllm.server.Fields;

/**
 * What a fine-tuning job was asked to do, kept on disk so a restarted server can run it again with the same
 * options and data order.
 *
 * @param model                  the base model's served name
 * @param trainingFile           the uploaded training file's id
 * @param validationFile         the uploaded validation file's id, or null; its loss is reported at every epoch's
 *                               checkpoint and for the final adapter
 * @param suffix                 part of the fine-tuned model's name, or null
 * @param seed                   the data order's and the adapter initialisation's seed
 * @param nEpochs                passes over the training data
 * @param batchSize              samples per optimizer step
 * @param learningRateMultiplier times the library's LoRA learning rate (2e-4)
 * @param lora                   the adapter trained
 */
public record JobSpec(String model, String trainingFile, String validationFile, String suffix, long seed, int nEpochs,
                      int batchSize, double learningRateMultiplier, Lora lora) {
    /** The library's learning rate for LoRA, which {@code learning_rate_multiplier} scales. */
    static final double BASE_LR = FinetuneOptions.builder().adapter(AdapterConfig.builder().build()).build().lr();
    private static final int DEFAULT_EPOCHS = 3;
    private static final long DEFAULT_SEED = 42;

    /**
     * LoRA settings ({@code method.lora}, an extension of OpenAI's API, which has none).
     *
     * @param r             rank
     * @param alpha         the update is scaled by alpha / r
     * @param dropout       dropout on A's input while training
     * @param targetModules projections adapted ({@code q_proj}, ..., or {@code all})
     */
    public record Lora(int r, double alpha, double dropout, List<String> targetModules) {
        static Lora read(Fields f) {
            AdapterConfig d = AdapterConfig.builder().build();
            List<String> targets = f.strings("target_modules");
            return new Lora(f.integer("r").orElse(d.r()), f.number("alpha").orElse(d.loraAlpha()),
                    f.number("dropout").orElse(d.loraDropout()),
                    targets.isEmpty() ? d.targets().stream().map(p -> p.moduleName()).sorted().toList() : targets);
        }

        AdapterConfig config() {
            return AdapterConfig.builder().r(r).loraAlpha(alpha).loraDropout(dropout)
                    .targets(TargetModules.parse(String.join(",", targetModules))).build();
        }
    }

    /**
     * Reads {@code POST /v1/fine_tuning/jobs}: {@code hyperparameters} at the top or under
     * {@code method.supervised}, with OpenAI's {@code "auto"} for the defaults.
     */
    static JobSpec read(Fields f) {
        Fields method = f.object("method").orElse(Fields.empty("method."));
        method.string("type").filter(t -> !t.equals("supervised")).ifPresent(t -> {
            throw method.invalid("type", "must be 'supervised' (the only method served), was '" + t + "'");
        });
        Fields hyper = method.object("supervised").flatMap(s -> s.object("hyperparameters"))
                .or(() -> f.object("hyperparameters"))
                .orElse(Fields.empty("hyperparameters."));
        Lora lora = Lora.read(method.object("lora").orElse(Fields.empty("method.lora.")));
        JobSpec spec = new JobSpec(f.requiredString("model"), f.requiredString("training_file"),
                f.string("validation_file").orElse(null), f.string("suffix").orElse(null),
                f.longInteger("seed").orElse(DEFAULT_SEED), (int) auto(hyper, "n_epochs", DEFAULT_EPOCHS),
                (int) auto(hyper, "batch_size", 1), auto(hyper, "learning_rate_multiplier", 1), lora);
        spec.options(2, 0); // checks the values now, so that a bad job is refused rather than failing later
        return spec;
    }

    /** A hyperparameter: a number, or {@code "auto"} (or absent) for the default. */
    private static double auto(Fields f, String name, double fallback) {
        if (f.field(name).map(v -> v.isTextual() && v.asText().equals("auto")).orElse(true)) {
            return fallback;
        }
        double v = f.number(name).getAsDouble();
        if (!(v > 0)) {
            throw f.invalid(name, "must be positive or \"auto\", was " + v);
        }
        return v;
    }

    /**
     * The job's options; samples longer than {@code maxSeqLen} tokens are truncated, and a checkpoint is written
     * every {@code checkpointEvery} steps (0: at the end only).
     */
    FinetuneOptions options(int maxSeqLen, int checkpointEvery) {
        try {
            return FinetuneOptions.builder().adapter(lora.config()).lr(BASE_LR * learningRateMultiplier)
                    .epochs(nEpochs).batchSize(batchSize).seed(seed).maxSeqLen(maxSeqLen)
                    .checkpointEvery(checkpointEvery).build();
        } catch (RuntimeException e) {
            throw ApiError.badRequest("invalid fine-tuning settings: " + e.getMessage(), null);
        }
    }
}
