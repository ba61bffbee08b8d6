package org.flexllm.peft.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.flexllm.backend.Backend;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.BypassTargets;
import org.flexllm.parallel.Collective;
import org.flexllm.parallel.TensorParallelException;
import org.flexllm.parallel.TensorParallelModel;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Golden;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.init.AdapterInit;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.peft.optim.Sgd;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LoRA finetuning under tensor parallelism, each rank on its slices of the adapter as the plan's dependent
 * partitioning cuts them: loss and gradients against the golden float64 references and against one rank, the
 * parameters after an SGD and an AdamW step against one rank's, and the collectives of a real step counted.
 */
@Timeout(120)
class TensorParallelLoraTest {
    private static final Backend CPU = new CpuBackend();
    private static final int WINDOW = 7;
    private static final int MAX_TOKENS = 64;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Path c : Golden.loraCases()) {
            ModelConfig model = Golden.model(c);
            for (String adapter : List.of("lora", "lora_rslora")) {
                for (int tp = 2; tp <= 4; tp++) {
                    try {
                        TensorParallelPlan.of(model, tp, BypassTargets.NONE);
                        out.add(Arguments.of(c.getFileName() + "/" + adapter, tp));
                    } catch (TensorParallelException e) {
                        // this model's heads do not split over tp ranks (TensorParallelForwardTest covers the error)
                    }
                }
            }
        }
        return out.stream();
    }

    /** One run's outcome: the loss and the whole adapter's parameters with their gradients. */
    private record Outcome(double loss, List<Parameter> parameters, long collectives, long floats) {}

    @ParameterizedTest(name = "{0} tp={1}")
    @MethodSource("cases")
    void gradientsAndStepsMatchOneRankAndTheReference(String name, int tp) throws IOException {
        Path dir = Golden.SHARED.resolve("golden/models").resolve(name);
        AdapterConfig config = AdapterConfig.read(dir);
        JsonNode example = new ObjectMapper().readTree(dir.resolve("train_example.json").toFile());
        int[] ids = ints(example.get("input_ids"));
        int[] labels = ints(example.get("labels"));
        try (Checkpoint checkpoint = Checkpoint.load(dir.getParent()); Arena arena = Arena.ofShared()) {
            Path values = dir.resolve("adapter_model.safetensors");
            Outcome one = oneRank(checkpoint, config, Golden.parameters(values, null, arena), ids, labels);
            var plan = TensorParallelPlan.of(checkpoint.config(), tp, RankAdapter.targets(config));
            Outcome split = ranks(plan, checkpoint, config, Golden.parameters(values, null, arena), ids, labels);

            double golden = new ObjectMapper().readTree(dir.resolve("loss.json").toFile()).get("loss").asDouble();
            assertEquals(golden, split.loss(), 1e-5, "loss");
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (int k = 0; k < one.parameters().size(); k++) {
                Parameter p = split.parameters().get(k);
                Tensor reference = grads.get(p.name()).orElseThrow();
                float[] single = Golden.floats(one.parameters().get(k).grad());
                float[] parallel = Golden.floats(p.grad());
                for (int i = 0; i < parallel.length; i++) {
                    assertEquals(reference.getFloat(i), parallel[i], 2e-5, p.name() + "[" + i + "] vs the reference");
                    assertEquals(single[i], parallel[i], 2e-5, p.name() + "[" + i + "] vs one rank");
                }
            }

            int layers = plan.model().numLayers();
            long perWindow = plan.prologue().size() + (long) layers
                    * (plan.collectivesPerLayer(Collective.FORWARD, Collective.BASE)
                    + plan.collectivesPerLayer(Collective.FORWARD, Collective.BYPASS));
            long backward = (long) layers * plan.collectivesPerLayer(Collective.BACKWARD, Collective.BASE);
            long expected = Math.ceilDiv(ids.length, WINDOW) * perWindow
                    + windowsWithTargets(labels) * trainedRowsEpilogue(plan) + backward;
            assertEquals(0, plan.collectivesPerLayer(Collective.FORWARD, Collective.BYPASS));
            assertEquals(expected, split.collectives(), "a step's collectives on each rank: the LoRA ops add none");
            // Per token a hidden row for the embedding and each forward and backward all-reduce; per trained row three
            // floats of softmax stats and a hidden row of its gradient: no row of logits is gathered to train.
            long hidden = plan.model().hiddenSize();
            long trained = IntStream.range(0, ids.length).filter(p -> p + 1 < ids.length
                    && labels[p + 1] != TrainingSequence.IGNORE).count();
            assertEquals(ids.length * hidden * (1 + 4L * layers) + trained * (3 + hidden), split.floats(),
                    "floats rank 0 sent through a step's collectives");

            stepsAgree(one.parameters(), split.parameters(), params -> new Sgd(CPU, params, 0, 0), 0.1, g -> 2e-6);
            stepsAgree(one.parameters(), split.parameters(), params -> new AdamW(CPU, params, 0.9, 0.999, 1e-8, 0.01), 1e-2,
                    g -> Math.abs(g) >= 1e-5 ? 1e-6 : 1e-4);
        }
    }

    private static Outcome oneRank(Checkpoint checkpoint, AdapterConfig config, List<Parameter> whole, int[] ids,
                                   int[] labels) {
        ModelConfig c = checkpoint.config();
        try (CpuBackend backend = new CpuBackend()) {
            ResidentAdapters slots = new ResidentAdapters(1, config.r());
            slots.set(0, ResidentAdapters.Resident.of("golden", config, whole, c));
            CompiledModel model = CompiledModel.compile(backend, c, checkpoint.weights(),
                    List.of(BypassPass.forAdapter(slots, config)), Pruning.PRUNED, MAX_TOKENS, 128);
            var runner = new TrainingRunner(model, PagedKvCache.allocate(backend, c, 16,
                    PagedKvCache.bytesPerToken(c) * 128), MAX_TOKENS);
            var s = new TrainingSequence(ids, labels, model.newTape(ids.length));
            return new Outcome(runner.run(s, 0, 1f / s.targetCount(), WINDOW, 1), whole, 0, 0);
        }
    }

    private static Outcome ranks(TensorParallelPlan plan, Checkpoint checkpoint, AdapterConfig config,
                                 List<Parameter> whole, int[] ids, int[] labels) {
        int tp = plan.ranks();
        List<Backend> backends = new ArrayList<>();
        List<RankAdapter> adapters = RankAdapter.ofRanks(plan, config, whole, Arena.ofAuto());
        List<List<GraphPass>> passes = new ArrayList<>();
        for (int r = 0; r < tp; r++) {
            backends.add(new CpuBackend());
            ResidentAdapters slots = new ResidentAdapters(1, config.r());
            slots.set(0, adapters.get(r).resident("golden", config, plan));
            passes.add(List.of(BypassPass.forAdapter(slots, config)));
        }
        var settings = new TensorParallelModel.Settings(Pruning.PRUNED, MAX_TOKENS, 128, 16,
                PagedKvCache.bytesPerToken(plan.rankConfig()) * 128, Duration.ofSeconds(30));
        try (var model = TensorParallelModel.compile(plan, checkpoint.weights(), backends::get, passes::get, settings)) {
            double[] loss = new double[tp];
            model.run(r -> {
                var runner = new TrainingRunner(model.rank(r), model.cache(r), MAX_TOKENS);
                var s = new TrainingSequence(ids, labels, model.rank(r).newTape(ids.length));
                loss[r] = runner.run(s, 0, 1f / s.targetCount(), WINDOW, 1);
            });
            for (int r = 1; r < tp; r++) {
                assertEquals(loss[0], loss[r], "every rank computes the same loss from the same gathered logits");
            }
            adapters.forEach(RankAdapter::moveGradients);
            long collectives = model.communicator(tp - 1).calls();
            assertEquals(model.communicator(0).calls(), collectives, "ranks 0 and " + (tp - 1));
            return new Outcome(loss[0], whole, collectives, model.communicator(0).floats());
        }
    }

    /**
     * IA3 (PEFT's defaults for Llama: k_proj and v_proj outputs, down_proj's input) with values away from 1, so that
     * a slice taken from the wrong place changes the forward: loss and gradients against one rank's.
     */
    @ParameterizedTest(name = "{0} tp={1}")
    @MethodSource("cases")
    void ia3GradientsMatchOneRank(String name, int tp) throws IOException {
        Path dir = Golden.SHARED.resolve("golden/models").resolve(name);
        JsonNode example = new ObjectMapper().readTree(dir.resolve("train_example.json").toFile());
        int[] ids = ints(example.get("input_ids"));
        int[] labels = ints(example.get("labels"));
        AdapterConfig config = AdapterConfig.builder().method(PeftMethod.IA3).build();
        try (Checkpoint checkpoint = Checkpoint.load(dir.getParent()); Arena arena = Arena.ofShared()) {
            ModelConfig model = checkpoint.config();
            Outcome one = oneRank(checkpoint, config, ia3(config, model, arena), ids, labels);
            var plan = TensorParallelPlan.of(model, tp, RankAdapter.targets(config));
            Outcome split = ranks(plan, checkpoint, config, ia3(config, model, arena), ids, labels);
            assertEquals(one.loss(), split.loss(), 1e-5 * one.loss(), "loss");
            for (int k = 0; k < one.parameters().size(); k++) {
                float[] expected = Golden.floats(one.parameters().get(k).grad());
                float[] actual = Golden.floats(split.parameters().get(k).grad());
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], 2e-5, one.parameters().get(k).name() + "[" + i + "]");
                }
            }
        }
    }

    private static List<Parameter> ia3(AdapterConfig config, ModelConfig model, Arena arena) {
        List<Parameter> params = AdapterInit.create(config, model, 0, arena).parameters(CPU, arena);
        for (Parameter p : params) {
            for (long i = 0; i < p.count(); i++) {
                p.value().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (1 + 0.5 * Math.sin(0.7 * i + p.name().length())));
            }
        }
        return params;
    }

    /** The same optimizer step on copies of both sets of parameters gives values within {@code tolerance(g)}. */
    private static void stepsAgree(List<Parameter> one, List<Parameter> split,
                                   Function<List<Parameter>, Optimizer> optimizer, double lr,
                                   Function<Float, Double> tolerance) {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> a = copies(one, arena);
            List<Parameter> b = copies(split, arena);
            optimizer.apply(a).step(lr);
            optimizer.apply(b).step(lr);
            for (int k = 0; k < a.size(); k++) {
                float[] expected = Golden.floats(a.get(k).value());
                float[] actual = Golden.floats(b.get(k).value());
                float[] g = Golden.floats(a.get(k).grad());
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], tolerance.apply(g[i]), a.get(k).name() + "[" + i + "] after "
                            + optimizer);
                }
            }
        }
    }

    private static List<Parameter> copies(List<Parameter> params, Arena arena) {
        return params.stream().map(p -> new Parameter(p.name(), p.shape(),
                arena.allocate(p.value().byteSize(), 4).copyFrom(p.value()),
                arena.allocate(p.grad().byteSize(), 4).copyFrom(p.grad()))).toList();
    }

    /** The epilogue's collectives for a chunk of trained rows: all but the gather of sampled rows' logits. */
    private static long trainedRowsEpilogue(TensorParallelPlan plan) {
        return plan.epilogue().stream().filter(c -> !(c.op().equals("all_gather") && c.after().equals("lm_head")))
                .count();
    }

    /** Windows with a position trained to predict its next token: only they compute logits (HF labels, unshifted). */
    private static int windowsWithTargets(int[] labels) {
        int windows = 0;
        for (int first = 0; first < labels.length; first += WINDOW) {
            boolean any = false;
            for (int p = first; p < Math.min(labels.length, first + WINDOW); p++) {
                any |= p + 1 < labels.length && labels[p + 1] != TrainingSequence.IGNORE;
            }
            windows += any ? 1 : 0;
        }
        return windows;
    }

    private static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }
}
