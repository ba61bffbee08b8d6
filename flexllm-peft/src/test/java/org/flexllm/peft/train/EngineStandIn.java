package org.flexllm.peft.train;

import java.util.concurrent.CancellationException;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.engine.TrainingSample;
import org.flexllm.engine.TrainingSource;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Tape;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.peft.serve.AdapterRegistry;

/**
 * What a co-serving engine does with a {@link TrainingSource}, for tests until the engine runs jobs: on a thread
 * of its own, over a model compiled with the registry's served bypass ops (so the job's adapter is read from
 * the slot the registry gave it), the next sample is asked for while the previous one is still to finish, as
 * the engine's forward runs beside an earlier sample's backward; each sample runs in forward windows of a few
 * tokens and backward slices of one layer.
 */
final class EngineStandIn implements AutoCloseable {
    private final LoadedModel loaded;
    private final Backend backend;
    private final TrainingRunner runner;
    private final Tape tape;
    private final int window;

    /**
     * @param registry  the adapters of the engine the job was started on (bound to the same model)
     * @param maxTokens the longest sample
     * @param window    tokens per forward window
     */
    EngineStandIn(String model, AdapterRegistry registry, int maxTokens, int window) {
        this.loaded = LoadedModel.open(model);
        this.backend = Backends.create("cpu");
        this.window = window;
        CompiledModel compiled = CompiledModel.compile(backend, loaded.config(), loaded.weights(),
                registry.passes(loaded.config()), maxTokens, maxTokens);
        var kv = PagedKvCache.allocate(backend, loaded.config(), 4, PagedKvCache.bytesPerToken(loaded.config())
                * (maxTokens + 4L));
        this.runner = new TrainingRunner(compiled, kv, maxTokens);
        this.tape = compiled.newTape(maxTokens);
    }

    /** Runs the job on a thread of its own until it is detached. */
    void attach(TrainingSource job) {
        Thread.ofPlatform().name("engine-stand-in").start(() -> drive(job));
    }

    /** The engine's protocol: ask, run, complete, and detach once finished or stopped. */
    void drive(TrainingSource job) {
        Throwable cause = null;
        try {
            TrainingSample waiting = null;
            while (!job.stopRequested()) {
                TrainingSample fresh = job.next();
                if (waiting == null && fresh == null) {
                    if (!job.finished()) {
                        throw new IllegalStateException("the job gave no sample while none was running");
                    }
                    break;
                }
                if (waiting != null) {
                    job.completed(waiting, run(job, waiting));
                }
                waiting = fresh;
            }
            if (job.stopRequested()) {
                cause = new CancellationException("stopped");
            }
        } catch (RuntimeException e) {
            cause = e;
        }
        job.detached(cause);
    }

    /** One sample's forward and backward on the job's slot; its weighted loss. */
    double run(TrainingSource job, TrainingSample s) {
        var sequence = new TrainingSequence(s.ids(), s.labels(), tape, s.dropoutSeed());
        return runner.run(sequence, job.adapterSlot(), s.lossWeight(), window, 1);
    }

    @Override
    public void close() {
        backend.close();
        loaded.close();
    }
}
