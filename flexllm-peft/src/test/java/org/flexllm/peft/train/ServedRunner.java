package org.flexllm.peft.train;

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
 * A model compiled with a registry's served bypass ops, as an engine on that registry compiles it, running a
 * co-served job's samples one at a time on the job's slot: for tests that play the engine call by call.
 */
final class ServedRunner implements AutoCloseable {
    private final LoadedModel loaded;
    private final Backend backend;
    private final TrainingRunner runner;
    private final Tape tape;

    /**
     * @param registry  the adapters of the engine the job was started on (bound to the same model)
     * @param maxTokens the longest sample
     */
    ServedRunner(String model, AdapterRegistry registry, int maxTokens) {
        this.loaded = LoadedModel.open(model);
        this.backend = Backends.create("cpu");
        CompiledModel compiled = CompiledModel.compile(backend, loaded.config(), loaded.weights(),
                registry.passes(loaded.config()), maxTokens, maxTokens);
        var kv = PagedKvCache.allocate(backend, loaded.config(), 4, PagedKvCache.bytesPerToken(loaded.config())
                * (maxTokens + 4L));
        this.runner = new TrainingRunner(compiled, kv, maxTokens);
        this.tape = compiled.newTape(maxTokens);
    }

    /** One sample's forward (in windows of 5 tokens) and backward (a layer at a time); its weighted loss. */
    double run(TrainingSource job, TrainingSample s) {
        var sequence = new TrainingSequence(s.ids(), s.labels(), tape, s.dropoutSeed());
        return runner.run(sequence, job.adapterSlot(), s.lossWeight(), 5, 1);
    }

    @Override
    public void close() {
        backend.close();
        loaded.close();
    }
}
