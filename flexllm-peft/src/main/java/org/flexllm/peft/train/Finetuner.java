package org.flexllm.peft.train;

import io.micrometer.core.instrument.Metrics;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.flexllm.FlexLlmException;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.flexllm.engine.TrainingSource;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.serve.AdapterRegistry;
import org.flexllm.peft.serve.AdapterRegistry.TrainingLease;

/**
 * Starts {@link FinetuneJob}s: examples, options and an output folder; a model to train on a thread of the
 * job's own, or {@link #coServe} to train inside a serving engine's iterations on what inference leaves;
 * optionally an adapter to continue from, or {@link #resume} from the output folder's last checkpoint with the
 * same data order.
 * <pre>{@code
 * try (AdapterRegistry registry = AdapterRegistry.create(4, 16);
 *      LlmEngine engine = LlmEngine.builder().model(m).adapters(registry).policy(Policy.COSERVE).build()) {
 *     FinetuneJob job = Finetuner.builder().data(examples).options(options).output(Path.of("out"))
 *             .coServe(engine, registry).name("demo").start();
 *     job.await();
 * }
 * }</pre>
 */
public final class Finetuner {
    private String model;
    private String backend = Backends.defaultName();
    private List<TrainingExample> data;
    private List<TrainingExample> eval = List.of();
    private FinetuneOptions options;
    private Path output;
    private Path initAdapter;
    private boolean resume;
    private Consumer<StepRecord> listener = record -> {};
    private Consumer<SavedCheckpoint> checkpoints = checkpoint -> {};
    private LlmEngine engine;
    private AdapterRegistry registry;
    private String name = "finetune";
    private double weight = 1;

    private Finetuner() {}

    public static Finetuner builder() {
        return new Finetuner();
    }

    /** A model folder or {@code synthetic:NAME}, for a job on a thread of its own. */
    public Finetuner model(String model) { this.model = model; return this; }
    /** {@code cpu}, {@code cuda} or {@code auto} (default: the system property {@value Backends#PROPERTY}, else auto). */
    public Finetuner backend(String backend) { this.backend = backend; return this; }
    public Finetuner data(List<TrainingExample> data) { this.data = List.copyOf(data); return this; }
    /** Held-out examples whose loss is reported at the end (a job on a thread of its own only). */
    public Finetuner eval(List<TrainingExample> eval) { this.eval = List.copyOf(eval); return this; }
    public Finetuner options(FinetuneOptions options) { this.options = options; return this; }
    /** The adapter's folder; checkpoints go to its {@code checkpoint-N} subfolders. */
    public Finetuner output(Path output) { this.output = output; return this; }
    /** Trains this existing PEFT adapter further instead of a freshly initialised one. */
    public Finetuner initAdapter(Path folder) { this.initAdapter = folder; return this; }
    /** Continues from the output folder's last checkpoint, if it has one. */
    public Finetuner resume(boolean resume) { this.resume = resume; return this; }
    /** Called after every step, on the thread that runs the job (a co-served job's: the engine's; keep it short). */
    public Finetuner onStep(Consumer<StepRecord> listener) { this.listener = listener; return this; }
    /**
     * Called after each checkpoint is on disk, on the thread that wrote it (not the training's); a co-served job's
     * checkpoint adapter can then be registered and evaluated by the serving engine while training goes on.
     */
    public Finetuner onCheckpoint(Consumer<SavedCheckpoint> listener) { this.checkpoints = listener; return this; }

    /**
     * Runs the job inside {@code engine}'s iterations instead of on a thread of its own: it trains the engine's
     * model, its adapter in a slot of {@code registry} (the engine's adapters, given to its builder) from start
     * to end. The options' {@code maxSeqLen} must be within the engine's {@code maxFinetuneTokens}. On a
     * tensor-parallel engine each rank trains its slices of the adapter; their gradients join the adapter's before
     * each optimizer step, and the adapter saved is the whole one.
     */
    public Finetuner coServe(LlmEngine engine, AdapterRegistry registry) {
        this.engine = engine;
        this.registry = registry;
        return this;
    }

    /**
     * The job's name, which tags its meters ({@code finetune} by default). A co-served job's meters go to the
     * engine's registry, a standalone job's to Micrometer's global one.
     */
    public Finetuner name(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a job's name must not be blank");
        }
        this.name = name;
        return this;
    }

    /** A co-served job's share of what inference leaves, relative to other jobs' (1 by default). */
    public Finetuner weight(double weight) {
        if (!(weight > 0 && Double.isFinite(weight))) {
            throw new IllegalArgumentException("a job's weight must be positive and finite, was " + weight);
        }
        this.weight = weight;
        return this;
    }

    /**
     * Prepares the adapter and starts the job: on a thread of its own, or attached to the engine of
     * {@link #coServe}.
     *
     * @throws org.flexllm.api.AdapterSlotsBusyException  when co-served and every slot of the registry is pinned
     * @throws org.flexllm.peft.serve.RankTooLargeException when co-served and the rank exceeds the registry's
     * @throws IllegalArgumentException                    when co-served samples are longer than the engine allows
     */
    public FinetuneJob start() {
        require(data != null && options != null && output != null,
                "a job needs data(...), options(...) and output(...)");
        return engine == null ? standalone() : coServed(engine::attach);
    }

    private FinetuneJob standalone() {
        require(model != null, "a job needs model(...), or coServe(engine, registry) to train an engine's model");
        LoadedModel loaded = LoadedModel.open(model);
        Backend b = Backends.create(backend);
        Arena memory = Arena.ofShared();
        try {
            Prepared prepared = prepare(loaded.config(), b, memory);
            TrainingLoop loop = new TrainingLoop(loaded, b, prepared.adapter().config(), prepared.parameters(), options);
            JobRun run = run(prepared, new JobRun.Placement(name, weight, TrainingLoop.SLOT, Metrics.globalRegistry,
                    () -> eval.isEmpty() ? Double.NaN : loop.evaluate(eval), memory::close, () -> {}, () -> {}));
            CompletableFuture<Void> stopped = new CompletableFuture<>();
            Thread.ofPlatform().name("flexllm-finetune").start(() -> {
                try (loop) {
                    loop.drive(run);
                } finally {
                    stopped.complete(null);
                }
            });
            return new FinetuneJob(run, CompletableFuture.allOf(stopped, settled(run)));
        } catch (RuntimeException e) {
            memory.close();
            b.close();
            loaded.close();
            throw e;
        }
    }

    /** A co-served job, handed to {@code attach}: the engine's, or in tests a stand-in for it. */
    FinetuneJob coServed(Consumer<TrainingSource> attach) {
        require(model == null, "a co-served job trains the engine's model: leave out model(...)");
        require(eval.isEmpty(), "held-out evaluation needs a job on a thread of its own: leave out eval(...)");
        ModelConfig config = engine.config();
        Arena memory = Arena.ofShared();
        JobRun run;
        try {
            Prepared prepared = prepare(config, engine.computeBackend(), memory);
            TrainingLease lease = registry.train(name, prepared.adapter().config(), prepared.parameters(), config);
            run = run(prepared, new JobRun.Placement(name, weight, lease.slot(), engine.meterRegistry(),
                    () -> Double.NaN, () -> {
                        lease.close();
                        memory.close();
                    }, lease::collectGradients, lease::refreshRanks));
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        try {
            attach.accept(run);
        } catch (RuntimeException e) {
            run.abandon();
            throw e;
        }
        return new FinetuneJob(run, settled(run));
    }

    /** Completes when the run's result does, however. */
    private static CompletableFuture<?> settled(JobRun run) {
        return run.result().handle((result, error) -> null);
    }

    /** The adapter being trained, its parameters, its steps from where the job starts, and their history. */
    private record Prepared(Adapter adapter, List<Parameter> parameters, Steps steps, List<StepRecord> history) {}

    /**
     * Reads or initialises the adapter and puts its parameters on {@code backend}, in {@code memory}: from the
     * checkpoint resumed from (with its optimizer state and history), else the initial adapter, else freshly
     * initialised.
     */
    private Prepared prepare(ModelConfig config, Backend backend, Arena memory) {
        Optional<Path> checkpoint = resume ? JobCheckpoint.latest(output) : Optional.empty();
        Adapter adapter;
        List<Parameter> parameters;
        try (Arena host = Arena.ofConfined()) {
            Adapter read = checkpoint
                    .map(c -> AdapterFolder.read(c.resolve(JobCheckpoint.ADAPTER_DIR), config, host))
                    .or(() -> Optional.ofNullable(initAdapter).map(f -> AdapterFolder.read(f, config, host)))
                    .orElseGet(() -> AdapterInit.create(options.adapter(), config, options.seed(), host));
            parameters = read.parameters(backend, memory);
            adapter = Adapter.of(read.config(), parameters);
        }
        if (checkpoint.isEmpty()) {
            return new Prepared(adapter, parameters, new Steps(data, options, backend, parameters, 0), List.of());
        }
        JobCheckpoint.TrainerState state = JobCheckpoint.readState(checkpoint.get());
        require(state.seed() == options.seed(), "checkpoint " + checkpoint.get() + " was trained with seed "
                + state.seed() + ", not " + options.seed() + ": the data order would differ");
        Steps steps = new Steps(data, options, backend, parameters, state.step());
        JobCheckpoint.restoreOptimizer(checkpoint.get(), steps.optimizer(), state.optimizerSteps());
        return new Prepared(adapter, parameters, steps, state.history());
    }

    private JobRun run(Prepared prepared, JobRun.Placement placement) {
        return new JobRun(placement, prepared.adapter(), prepared.steps(), new JobFiles(output, options.seed(),
                prepared.steps().backend()),
                options.checkpointEvery(), prepared.history(), listener, checkpoints);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new FlexLlmException(message);
        }
    }
}
