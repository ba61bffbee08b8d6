package org.flexllm.examples.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.flexllm.api.LlmEngine;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.StepRecord;

/**
 * The benchmark's finetuning job: a LoRA adapter trained with AdamW inside the engine's iterations, for more
 * steps than any run lasts (the run cancels it).
 */
final class CoservedJob {
    /** The job's name in the engine's metrics. */
    static final String NAME = "bench";
    /**
     * The attention projections, as the LoRA paper adapts them: the work of the job is then mostly the base
     * model's forward and backward, which is what co-serving shares, rather than the adapters' own.
     */
    private static final Set<Projection> TARGETS = EnumSet.of(Projection.Q_PROJ, Projection.K_PROJ,
            Projection.V_PROJ, Projection.O_PROJ);
    private static final double LR = 1e-4;
    /** Enough random sequences that an epoch's shuffle varies the order; their content does not matter. */
    private static final int SYNTHETIC_SAMPLES = 64;

    private CoservedJob() {}

    /**
     * Starts the job on {@code engine}, its adapter in a slot of {@code registry}, its output in {@code output};
     * {@code onStep} is called after every optimizer step.
     */
    static FinetuneJob start(CoserveConfig config, LlmEngine engine, AdapterRegistry registry, Path output,
                             RandomGenerator random, Consumer<StepRecord> onStep) {
        FinetuneOptions options = FinetuneOptions.builder().adapter(adapter(config.loraR()))
                .optimizer(FinetuneOptions.OptimizerKind.ADAMW).lr(LR).steps(Integer.MAX_VALUE)
                .maxSeqLen(config.ftSeqLen()).seed(config.seed()).build();
        return Finetuner.builder().data(data(config, engine, random)).options(options).output(output)
                .coServe(engine, registry).name(NAME).onStep(onStep).start();
    }

    /** LoRA of rank r and alpha 2r, the common choice that keeps the update's scale at 2 whatever the rank. */
    static AdapterConfig adapter(int r) {
        return AdapterConfig.builder().r(r).loraAlpha(2.0 * r).targets(TARGETS).build();
    }

    private static List<TrainingExample> data(CoserveConfig config, LlmEngine engine, RandomGenerator random) {
        int vocab = engine.config().vocabSize();
        if (config.ftData() != null) {
            return DatasetReader.of(engine.tokenizer(), vocab, config.ftSeqLen()).read(config.ftData()).examples();
        }
        List<TrainingExample> samples = new ArrayList<>(SYNTHETIC_SAMPLES);
        for (int i = 0; i < SYNTHETIC_SAMPLES; i++) {
            samples.add(TrainingExample.allTrained(random.ints(config.ftSeqLen(), 0, vocab).toArray()));
        }
        return samples;
    }
}
