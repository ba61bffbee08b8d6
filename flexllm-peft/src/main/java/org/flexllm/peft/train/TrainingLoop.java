package org.flexllm.peft.train;

import java.util.List;
import java.util.concurrent.CancellationException;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.engine.TrainingSample;
import org.flexllm.engine.TrainingSource;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Tape;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.data.TrainingExample;

/**
 * A standalone job's model: compiled with the bypass ops of the one adapter it trains, which sits in
 * {@link #SLOT}. It runs a job's samples on its own thread, back to back, where a co-serving engine would
 * spread them over its iterations.
 */
final class TrainingLoop implements AutoCloseable {
    static final int SLOT = 0;

    private final LoadedModel loaded;
    private final Backend backend;
    private final ModelConfig model;
    private final int maxLen;
    private final TrainingRunner runner;
    private final Tape tape;

    /** Takes over {@code loaded} and {@code backend}: closing the loop closes them. */
    TrainingLoop(LoadedModel loaded, Backend backend, AdapterConfig config, List<Parameter> parameters,
                 FinetuneOptions options) {
        this.loaded = loaded;
        this.backend = backend;
        this.model = loaded.config();
        this.maxLen = options.maxSeqLen();
        ResidentAdapters slots = new ResidentAdapters(1, Math.max(1, config.r()));
        slots.set(SLOT, ResidentAdapters.Resident.of("training", config, parameters, model));
        CompiledModel compiled = CompiledModel.compile(backend, model, loaded.weights(),
                List.of(BypassPass.forAdapter(slots, config)), options.pruning(), maxLen, maxLen);
        PagedKvCache kv = PagedKvCache.allocate(backend, model, 16, PagedKvCache.bytesPerToken(model) * (maxLen + 16L));
        this.runner = new TrainingRunner(compiled, kv, maxLen);
        this.tape = compiled.newTape(maxLen);
    }

    /**
     * Runs the job's samples one after the other, each forward in one window and its backward over all layers
     * at once, until the job has handed out its last sample or asks to stop; then detaches it, as a co-serving
     * engine does.
     */
    void drive(TrainingSource job) {
        Throwable cause = null;
        try {
            while (!job.finished() && !job.stopRequested()) {
                TrainingSample s = job.next();
                var sequence = new TrainingSequence(s.ids(), s.labels(), tape, s.dropoutSeed());
                job.completed(s, runner.run(sequence, job.adapterSlot(), s.lossWeight(), maxLen, model.numLayers()));
            }
            if (!job.finished()) {
                cause = new CancellationException("finetuning cancelled; its last checkpoint holds its progress");
            }
        } catch (RuntimeException | Error e) {
            cause = e;
        }
        job.detached(cause);
    }

    /** Mean loss over {@code examples} without training (an evaluation split). */
    double evaluate(List<TrainingExample> examples) {
        int targets = examples.stream().mapToInt(TrainingExample::targets).sum();
        double loss = 0;
        for (TrainingExample e : examples) {
            loss += runner.evaluate(new TrainingSequence(e.inputIds(), e.labels(), tape), SLOT,
                    1f / Math.max(1, targets), maxLen);
        }
        return loss;
    }

    /** Closes the backend and the model. */
    @Override
    public void close() {
        backend.close();
        loaded.close();
    }
}
