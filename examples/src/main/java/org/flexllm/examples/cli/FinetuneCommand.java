package org.flexllm.examples.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.flexllm.api.LoadedModel;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.TargetModules;
import org.flexllm.peft.data.Dataset;
import org.flexllm.peft.data.DatasetFormat;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.peft.optim.LrSchedule;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneJob.FinetuneResult;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.FinetuneOptions.OptimizerKind;
import org.flexllm.peft.train.Finetuner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code flexllm finetune}: trains a LoRA or IA3 adapter on a JSONL dataset and writes it as a PEFT folder.
 * The option defaults are the library's ({@link FinetuneOptions.Builder}, {@link AdapterConfig.Builder}).
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Train a LoRA or IA3 adapter on a JSONL dataset; OUT receives the adapter (PEFT's"
                + " adapter_config.json and adapter_model.safetensors) and checkpoint-N/ folders to resume from.",
                "Progress: a bar on a terminal, else a line per step; with --json exactly one"
                        + " {\"step\":n,\"loss\":x,\"tokens_per_s\":y} line per step on stdout, the rest on stderr."})
final class FinetuneCommand implements Callable<Integer> {
    @Mixin
    private BackendOption backend;

    private static final AdapterConfig ADAPTER = AdapterConfig.builder().build();
    private static final FinetuneOptions DEFAULTS = FinetuneOptions.builder().adapter(ADAPTER).build();

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME[:DTYPE] (smollm-135m, llama-1b,"
                    + " llama-8b-2l, tiny).")
    private String model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "The JSONL training set.")
    private Path data;

    @Option(names = "--format", paramLabel = "FORMAT", description = "text ({\"text\"}), completion ({\"prompt\","
            + " \"completion\"}: the completion is trained), chat ({\"messages\"}: assistant turns are trained) or"
            + " tokens ({\"input_ids\", \"labels\"}). Default: detected from the first line.")
    private DatasetFormat format;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Where the adapter and its checkpoints go; must be empty or absent unless --resume.")
    private Path out;

    @Option(names = "--init-adapter", paramLabel = "DIR", description = "Train this PEFT adapter further instead"
            + " of a new one (its adapter_config.json replaces --method, --lora-*, --rslora and --targets).")
    private Path initAdapter;

    @Option(names = "--resume", description = "Continue from OUT's last checkpoint (same data, seed and options).")
    private boolean resume;

    @Option(names = "--method", paramLabel = "lora|ia3", description = "The adapter's kind.")
    private PeftMethod method = ADAPTER.method();

    @Option(names = "--lora-r", paramLabel = "R", description = "LoRA rank.")
    private int loraR = ADAPTER.r();

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha: the update is scaled by alpha/r.")
    private double loraAlpha = ADAPTER.loraAlpha();

    @Option(names = "--lora-dropout", paramLabel = "D", description = "LoRA dropout on the input of A while training (PEFT semantics; default 0).")
    private double loraDropout = ADAPTER.loraDropout();

    @Option(names = "--rslora", description = "Rank-stabilized LoRA: scale by alpha/sqrt(r).")
    private boolean rslora;

    @Option(names = "--targets", paramLabel = "MODULES", description = "Comma-separated modules (q_proj, k_proj,"
            + " v_proj, o_proj, gate_proj, up_proj, down_proj) or all. Default: PEFT's for llama (lora: q_proj,v_proj;"
            + " ia3: k_proj,v_proj,down_proj with down_proj as the feed-forward module).")
    private String targets;

    @Option(names = "--optimizer", paramLabel = "sgd|adamw", description = "SGD with momentum, or AdamW.")
    private OptimizerKind optimizer = DEFAULTS.optimizer();

    @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate.")
    private double lr = DEFAULTS.lr();

    @Option(names = "--lr-schedule", paramLabel = "constant|linear|cosine",
            description = "After the warm-up: hold the rate, or decay it to 0 at the last step.")
    private LrSchedule.Decay schedule = DEFAULTS.schedule();

    @Option(names = "--warmup-steps", paramLabel = "N", description = "Linear warm-up from 0.")
    private int warmupSteps = DEFAULTS.warmupSteps();

    @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum.")
    private double momentum = DEFAULTS.momentum();

    @Option(names = "--weight-decay", paramLabel = "W", description = "Decoupled (AdamW) or L2 (SGD) weight decay.")
    private double weightDecay = DEFAULTS.weightDecay();

    @Option(names = "--beta1", paramLabel = "B1", description = "AdamW first-moment decay.")
    private double beta1 = DEFAULTS.beta1();

    @Option(names = "--beta2", paramLabel = "B2", description = "AdamW second-moment decay.")
    private double beta2 = DEFAULTS.beta2();

    @Option(names = "--eps", paramLabel = "E", description = "AdamW epsilon.")
    private double eps = DEFAULTS.eps();

    @Option(names = "--max-grad-norm", paramLabel = "N", description = "Clip the global gradient norm (0: off).")
    private double maxGradNorm = DEFAULTS.maxGradNorm();

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps; overrides --epochs (0: use --epochs).")
    private int steps = DEFAULTS.steps();

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training set when --steps is 0.")
    private int epochs = DEFAULTS.epochs();

    @Option(names = "--batch-size", paramLabel = "B", description = "Sequences per micro-batch.")
    private int batchSize = DEFAULTS.batchSize();

    @Option(names = "--grad-accum", paramLabel = "K", description = "Micro-batches per optimizer step.")
    private int gradAccum = DEFAULTS.gradAccum();

    @Option(names = "--max-seq-len", paramLabel = "L", description = "Longer examples are truncated to L tokens.")
    private int maxSeqLen = DEFAULTS.maxSeqLen();

    @Option(names = "--seed", paramLabel = "S", description = "Seeds the adapter's initialisation, the data order"
            + " and the evaluation split.")
    private long seed = DEFAULTS.seed();

    @Option(names = "--checkpoint-every", paramLabel = "N", description = "Steps between checkpoints (0: only the"
            + " last step's).")
    private int checkpointEvery = DEFAULTS.checkpointEvery();

    @Option(names = "--eval-fraction", paramLabel = "F", description = "Hold out this fraction of the examples"
            + " (at least one) and report their loss at the end (0: none).")
    private double evalFraction;

    @Option(names = "--json", description = "One JSON line per step on stdout and nothing else there.")
    private boolean json;

    @Mixin
    private TensorParallelOption tensorParallel;

    @Override
    public Integer call() throws InterruptedException {
        FinetuneOptions options = options();
        requireEmptyOutput();
        if (tensorParallel.ranks() > 1 && evalFraction > 0) {
            throw new ParameterException(spec.commandLine(), "--eval-fraction needs a job on one rank: drop it or"
                    + " --tp " + tensorParallel.ranks());
        }
        PrintWriter info = json ? spec.commandLine().getErr() : spec.commandLine().getOut();
        Dataset.Split split = readData(options, info);
        StepProgress progress = new StepProgress(StepProgress.Style.of(json), spec.commandLine().getOut());
        CompletableFuture<FinetuneJob> started = new CompletableFuture<>();
        Finetuner finetuner = Finetuner.builder().data(split.train()).eval(split.eval()).options(options).output(out)
                .initAdapter(initAdapter).resume(resume)
                .onStep(record -> progress.step(record, started.join().totalSteps()));
        int rank = (initAdapter == null ? options.adapter() : AdapterConfig.read(initAdapter)).r();
        tensorParallel.train(model, finetuner, rank, options.maxSeqLen(), job -> {
            report(job, started, progress, split, info);
            return null;
        });
        return 0;
    }

    /** Follows the job to its end and says where its adapter went. */
    private void report(FinetuneJob job, CompletableFuture<FinetuneJob> started, StepProgress progress,
                        Dataset.Split split, PrintWriter info) throws InterruptedException {
        started.complete(job);
        if (job.firstStep() > 0) {
            info.printf("resuming from step %d of %d%n", job.firstStep(), job.totalSteps());
        }
        FinetuneResult result;
        try {
            result = job.await();
        } finally {
            progress.finish();
        }
        info.printf("%d steps, final loss %.4f%s; adapter written to %s%n", result.steps(), result.finalLoss(),
                split.eval().isEmpty() ? "" : String.format(", eval loss %.4f", result.evalLoss()), out);
        info.flush();
    }

    /** The job's options; builds (and so checks) the adapter config and the hyperparameters before any loading. */
    private FinetuneOptions options() {
        AdapterConfig.Builder adapter = AdapterConfig.builder().method(method).r(loraR).loraAlpha(loraAlpha)
                .loraDropout(loraDropout).useRslora(rslora);
        if (targets != null) {
            adapter.targets(TargetModules.parse(targets));
        }
        return FinetuneOptions.builder().adapter(adapter.build()).optimizer(optimizer).lr(lr).momentum(momentum)
                .weightDecay(weightDecay).betas(beta1, beta2).eps(eps).schedule(schedule, warmupSteps)
                .epochs(epochs).steps(steps).batchSize(batchSize).gradAccum(gradAccum).maxSeqLen(maxSeqLen)
                .seed(seed).checkpointEvery(checkpointEvery).maxGradNorm(maxGradNorm).build();
    }

    /** A fresh job would leave an earlier job's checkpoints beside its own, and a later --resume would mix them. */
    private void requireEmptyOutput() {
        if (resume || !Files.isDirectory(out)) {
            return;
        }
        try (Stream<Path> entries = Files.list(out)) {
            if (entries.findAny().isPresent()) {
                throw new ParameterException(spec.commandLine(), out + " is not empty: pass --resume to continue its"
                        + " last checkpoint, or choose an empty --out");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + out, e);
        }
    }

    /** Reads the dataset with the model's tokenizer (the job opens the model again for training). */
    private Dataset.Split readData(FinetuneOptions options, PrintWriter info) {
        Dataset dataset;
        try (LoadedModel loaded = LoadedModel.open(model)) {
            DatasetReader reader = DatasetReader.of(loaded.tokenizer(), loaded.config().vocabSize(),
                    options.maxSeqLen());
            dataset = format == null ? reader.read(data) : reader.read(data, format);
        }
        info.printf("%s: %d examples, %d trained tokens, %d truncated to %d tokens%n", data,
                dataset.examples().size(), dataset.targets(), dataset.truncated(), options.maxSeqLen());
        if (evalFraction == 0) {
            return new Dataset.Split(dataset.examples(), List.of());
        }
        Dataset.Split split = dataset.split(evalFraction, seed);
        info.printf("holding out %d examples for evaluation%n", split.eval().size());
        return split;
    }
}
