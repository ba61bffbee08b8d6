package org.flexllm.examples.cli;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.flexllm.examples.bench.ScratchFolder;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.parallel.TensorParallelModel;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.parallel.RankAdapter;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.StepRecord;

/**
 * {@code flexllm bench finetune}: a finetuning job of a few steps on one random sequence, timed by its own step
 * records (forward, backward, clipping and the AdamW step; not the checkpoint written at the end), and what the
 * compiled model's pruning plan keeps per token for the backward, pruned and unpruned (on each rank, under tensor
 * parallelism: the job then runs in an engine whose loop drives the ranks).
 */
final class FinetuneBench {
    /** KV-cache block of the ranks compiled for the activation report: its cache is never used. */
    private static final int BLOCK = 16;

    private FinetuneBench() {}

    /** The JSON output; {@code pruning} is what the timed steps ran with. */
    record Report(String mode, String model, String backend, int cpus, int tp, int seqLen, int loraR, String targets,
                  String pruning, int warmup, int steps, String statistic, double stepMs, double tokensPerS,
                  long activationBytesPerToken, long activationBytesPerTokenUnpruned) {}

    /** Runs {@code warmup} untimed and {@code steps} timed steps and reports the fastest. */
    static Report run(String model, int seqLen, AdapterConfig adapter, Pruning pruning, int warmup, int steps,
                      TensorParallelOption tp) throws InterruptedException {
        long pruned;
        long unpruned;
        String backendName;
        TrainingExample sequence;
        try (LoadedModel loaded = LoadedModel.open(model); Backend backend = Backends.create(Backends.defaultName())) {
            pruned = activationBytesPerToken(loaded, backend, adapter, Pruning.PRUNED, tp.ranks());
            unpruned = activationBytesPerToken(loaded, backend, adapter, Pruning.KEEP_ALL, tp.ranks());
            backendName = backend.name();
            sequence = TrainingExample.allTrained(
                    new SplittableRandom(0).ints(seqLen, 0, loaded.config().vocabSize()).toArray());
        }
        FinetuneOptions options = FinetuneOptions.builder().adapter(adapter).steps(warmup + steps).maxSeqLen(seqLen)
                .pruning(pruning).build();
        StepRecord best = timedSteps(model, sequence, options, warmup, tp).stream()
                .max(Comparator.comparingDouble(StepRecord::tokensPerSecond)).orElseThrow();
        return new Report("finetune", model, backendName, Runtime.getRuntime().availableProcessors(), tp.ranks(),
                seqLen,
                adapter.r(), adapter.targets().stream().map(Projection::moduleName).collect(Collectors.joining(",")),
                pruning.name(), warmup, steps, "best", best.tokens() / best.tokensPerSecond() * 1e3,
                best.tokensPerSecond(), pruned, unpruned);
    }

    /** The plan alone decides the bytes, so the model (rank 0's, on several ranks) is compiled for a single token. */
    private static long activationBytesPerToken(LoadedModel loaded, Backend backend, AdapterConfig adapter,
                                                Pruning pruning, int ranks) {
        if (ranks == 1) {
            return CompiledModel.compile(backend, loaded.config(), loaded.weights(), List.of(lora(adapter)), pruning,
                    1, 1).explain().bytesPerToken();
        }
        var plan = TensorParallelPlan.of(loaded.config(), ranks, RankAdapter.targets(adapter));
        var settings = new TensorParallelModel.Settings(pruning, 1, 1, BLOCK,
                PagedKvCache.bytesPerToken(plan.rankConfig()) * BLOCK, Duration.ofMinutes(1));
        try (var split = TensorParallelModel.compile(plan, loaded.weights(), r -> Backends.create(backend.name()),
                r -> List.of(lora(adapter)), settings)) {
            return split.rank(0).explain().bytesPerToken();
        }
    }

    private static BypassPass lora(AdapterConfig adapter) {
        return BypassPass.forAdapter(new ResidentAdapters(1, adapter.r()), adapter);
    }

    /** The records of the steps after the warm-up; the job's adapter and checkpoint go to a deleted folder. */
    private static List<StepRecord> timedSteps(String model, TrainingExample sequence, FinetuneOptions options,
                                               int warmup, TensorParallelOption tp) throws InterruptedException {
        try (ScratchFolder out = ScratchFolder.create("flexllm-bench-finetune")) {
            Finetuner finetuner = Finetuner.builder().data(List.of(sequence)).options(options).output(out.path());
            return tp.train(model, finetuner, options.adapter().r(), options.maxSeqLen(), job -> {
                job.await();
                List<StepRecord> history = job.history();
                return history.subList(warmup, history.size());
            });
        }
    }
}
