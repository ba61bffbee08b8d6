package org.flexllm.peft.train;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.flexllm.FlexLlmException;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;

/**
 * Starts {@link FinetuneJob}s: a model, examples, options and an output folder; optionally an adapter to
 * continue from, or {@link #resume} from the output folder's last checkpoint with the same data order.
 */
public final class Finetuner {
    private String model;
    private String backend = "auto";
    private List<TrainingExample> data;
    private List<TrainingExample> eval = List.of();
    private FinetuneOptions options;
    private Path output;
    private Path initAdapter;
    private boolean resume;
    private Consumer<StepRecord> listener = record -> {};

    private Finetuner() {}

    public static Finetuner builder() {
        return new Finetuner();
    }

    /** A model folder or {@code synthetic:NAME}. */
    public Finetuner model(String model) { this.model = model; return this; }
    public Finetuner backend(String backend) { this.backend = backend; return this; }
    public Finetuner data(List<TrainingExample> data) { this.data = List.copyOf(data); return this; }
    /** Held-out examples whose loss is reported at the end. */
    public Finetuner eval(List<TrainingExample> eval) { this.eval = List.copyOf(eval); return this; }
    public Finetuner options(FinetuneOptions options) { this.options = options; return this; }
    /** The adapter's folder; checkpoints go to its {@code checkpoint-N} subfolders. */
    public Finetuner output(Path output) { this.output = output; return this; }
    /** Trains this existing PEFT adapter further instead of a freshly initialised one. */
    public Finetuner initAdapter(Path folder) { this.initAdapter = folder; return this; }
    /** Continues from the output folder's last checkpoint, if it has one. */
    public Finetuner resume(boolean resume) { this.resume = resume; return this; }
    /** Called on the job's thread after every step. */
    public Finetuner onStep(Consumer<StepRecord> listener) { this.listener = listener; return this; }

    /** Loads the model, prepares the adapter and starts the job's thread. */
    public FinetuneJob start() {
        require(model != null && data != null && options != null && output != null,
                "a job needs model(...), data(...), options(...) and output(...)");
        Optional<Path> checkpoint = resume ? JobCheckpoint.latest(output) : Optional.empty();
        LoadedModel loaded = LoadedModel.open(model);
        Backend b = Backends.create(backend);
        Function<Arena, Adapter> initial = arena -> checkpoint.map(c -> AdapterFolder.read(c.resolve("adapter"),
                        loaded.config(), arena))
                .or(() -> Optional.ofNullable(initAdapter).map(f -> AdapterFolder.read(f, loaded.config(), arena)))
                .orElseGet(() -> AdapterInit.create(options.adapter(), loaded.config(), options.seed(), arena));
        TrainingLoop loop = new TrainingLoop(loaded, b, initial, data, options, List.of(b, loaded));
        JobRun run = checkpoint.map(c -> resumed(loop, c)).orElseGet(() -> new JobRun(output, 0, List.of(),
                options.checkpointEvery(), eval, options.seed()));
        return new FinetuneJob(loop, run, listener);
    }

    private JobRun resumed(TrainingLoop loop, Path checkpoint) {
        JobCheckpoint.TrainerState state = JobCheckpoint.readState(checkpoint);
        require(state.seed() == options.seed(), "checkpoint " + checkpoint + " was trained with seed " + state.seed()
                + ", not " + options.seed() + ": the data order would differ");
        JobCheckpoint.restoreOptimizer(checkpoint, loop.optimizer(), state.optimizerSteps(), loop.arena());
        return new JobRun(output, state.step(), state.history(), options.checkpointEvery(), eval, options.seed());
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new FlexLlmException(message);
        }
    }
}
