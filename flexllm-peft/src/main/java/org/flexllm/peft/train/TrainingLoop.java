package org.flexllm.peft.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Tape;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.data.DataOrder;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.peft.optim.GradientClipping;
import org.flexllm.peft.optim.LrSchedule;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.peft.optim.Sgd;

/**
 * The finetuning loop of one adapter on one model: each step runs its samples' forward and backward (through
 * the pruned graph, adding the adapter's gradients), clips, and lets the optimizer step. The sample of the
 * k-th slot overall is a pure function of (seed, k), so a resumed job sees the data in the same order.
 */
final class TrainingLoop implements AutoCloseable {
    private static final int TRAINING_SLOT = 0;

    private final FinetuneOptions options;
    private final ModelConfig model;
    private final List<TrainingExample> data;
    private final DataOrder order;
    private final Arena arena = Arena.ofShared();
    private final Adapter adapter;
    private final List<Parameter> parameters;
    private final CompiledModel compiled;
    private final TrainingRunner runner;
    private final Tape tape;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final int totalSteps;
    private final List<AutoCloseable> resources;

    TrainingLoop(LoadedModel loaded, Backend backend, Function<Arena, Adapter> initial, List<TrainingExample> data,
                 FinetuneOptions options, List<AutoCloseable> resources) {
        this.options = options;
        this.resources = resources;
        this.model = loaded.config();
        this.data = List.copyOf(data);
        this.order = new DataOrder(options.seed(), data.size());
        this.adapter = initial.apply(arena);
        this.parameters = adapter.parameters(arena);
        AdapterConfig config = adapter.config();
        ResidentAdapters slots = new ResidentAdapters(1, Math.max(1, config.r()));
        slots.set(TRAINING_SLOT, ResidentAdapters.Resident.of("training", config, parameters, model));
        int maxLen = options.maxSeqLen();
        this.compiled = CompiledModel.compile(backend, model, loaded.weights(),
                List.of(BypassPass.forAdapter(slots, config)), options.pruning(), maxLen, maxLen);
        PagedKvCache kv = PagedKvCache.allocate(backend, model, 16, PagedKvCache.bytesPerToken(model) * (maxLen + 16L));
        this.runner = new TrainingRunner(compiled, kv, maxLen);
        this.tape = compiled.newTape(maxLen);
        this.optimizer = switch (options.optimizer()) {
            case SGD -> new Sgd(parameters, options.momentum(), options.weightDecay());
            case ADAMW -> new AdamW(parameters, options.beta1(), options.beta2(), options.eps(), options.weightDecay());
        };
        this.totalSteps = options.steps() > 0 ? options.steps()
                : Math.ceilDiv(options.epochs() * data.size(), options.samplesPerStep());
        this.schedule = new LrSchedule(options.schedule(), options.lr(), options.warmupSteps(), totalSteps);
    }

    int totalSteps() {
        return totalSteps;
    }

    /** Runs step {@code step} (0-based) and returns its record; the adapter's parameters are updated in place. */
    StepRecord step(int step) {
        long start = System.nanoTime();
        List<TrainingExample> batch = samples(step);
        long first = (long) step * options.samplesPerStep();
        int targets = batch.stream().mapToInt(TrainingExample::targets).sum();
        float weight = 1f / Math.max(1, targets);
        double loss = 0;
        int tokens = 0;
        for (int i = 0; i < batch.size(); i++) {
            TrainingExample e = batch.get(i);
            var sequence = new TrainingSequence(e.inputIds(), e.labels(), tape, dropoutSeed(first + i));
            loss += runner.run(sequence, TRAINING_SLOT, weight, options.maxSeqLen(), model.numLayers());
            tokens += e.inputIds().length;
        }
        double norm = GradientClipping.clipGlobalNorm(parameters, options.maxGradNorm());
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            throw new NanLossException(step + 1, loss, norm);
        }
        double lr = schedule.lr(step);
        optimizer.step(lr);
        parameters.forEach(p -> compiled.backend().zero(p.grad(), p.count()));
        double seconds = (System.nanoTime() - start) / 1e9;
        return new StepRecord(step + 1, loss, lr, norm, tokens, tokens / seconds);
    }

    /** The k-th sample of the job's data order draws its dropout masks from this seed. */
    private long dropoutSeed(long k) {
        return options.seed() * 0x9E3779B97F4A7C15L + k;
    }

    private List<TrainingExample> samples(int step) {
        List<TrainingExample> batch = new ArrayList<>();
        for (int i = 0; i < options.samplesPerStep(); i++) {
            long k = (long) step * options.samplesPerStep() + i;
            int[] epoch = order.epoch((int) (k / data.size()));
            batch.add(data.get(epoch[(int) (k % data.size())]));
        }
        return batch;
    }

    /** Mean loss over {@code examples} without training (an evaluation split). */
    double evaluate(List<TrainingExample> examples) {
        int targets = examples.stream().mapToInt(TrainingExample::targets).sum();
        double loss = 0;
        for (TrainingExample e : examples) {
            loss += runner.evaluate(new TrainingSequence(e.inputIds(), e.labels(), tape), TRAINING_SLOT,
                    1f / Math.max(1, targets), options.maxSeqLen());
        }
        return loss;
    }

    Adapter adapter() {
        return Adapter.of(adapter.config(), parameters);
    }

    Optimizer optimizer() {
        return optimizer;
    }

    Arena arena() {
        return arena;
    }

    /** Frees the adapter's memory, then the backend and the model this loop was given. */
    @Override
    public void close() throws Exception {
        arena.close();
        for (AutoCloseable r : resources) {
            r.close();
        }
    }
}
