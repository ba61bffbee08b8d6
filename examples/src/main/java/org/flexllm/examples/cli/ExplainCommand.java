package org.flexllm.examples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.flexllm.api.LoadedModel;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.SyntheticModel;
import org.flexllm.parallel.BypassTargets;
import org.flexllm.parallel.Collective;
import org.flexllm.parallel.Partition;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.parallel.RankAdapter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm explain}: how a model and an adapter split over tensor-parallel ranks, and what that communicates. */
@Command(name = "explain", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Print the tensor-parallel plan: the partition of every value and weight of a layer (the"
                + " adapter's derived from its Linear's), and every collective with its bytes per token, base vs"
                + " bypass.")
final class ExplainCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder, a GGUF file, or synthetic:NAME[:DTYPE].")
    private String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT adapter folder (LoRA or IA3) whose"
            + " bypass ops are partitioned too.")
    private Path adapter;

    @Option(names = "--tp", defaultValue = "1", paramLabel = "N", description = "Tensor-parallel ranks.")
    private int tp;

    @Option(names = "--json", description = "Print the plan as one JSON object.")
    private boolean json;

    @Override
    public Integer call() {
        TensorParallelPlan plan = TensorParallelPlan.of(config(), tp, targets());
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? toJson(plan.explain()) : text(plan));
        out.flush();
        return 0;
    }

    private ModelConfig config() {
        if (model.startsWith(LoadedModel.SYNTHETIC)) {
            return SyntheticModel.config(model.substring(LoadedModel.SYNTHETIC.length()).split(":", 2)[0]);
        }
        try (LoadedModel loaded = LoadedModel.open(model)) {
            return loaded.config();
        }
    }

    private BypassTargets targets() {
        return adapter == null ? BypassTargets.NONE : RankAdapter.targets(AdapterConfig.read(adapter));
    }

    private static String toJson(Object report) {
        try {
            return new ObjectMapper().writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One layer (every layer is split alike), then the collectives before and after the layers. */
    private static String text(TensorParallelPlan plan) {
        StringBuilder s = new StringBuilder();
        s.append("tensor parallel over ").append(plan.ranks()).append(" rank(s); every one of the ")
                .append(plan.model().numLayers()).append(" layers is split alike:\n  values (floats per token per rank)\n");
        partitions(s, plan.values());
        s.append("  weights (rows or columns per rank along the split dimension)\n");
        partitions(s, plan.weights());
        s.append("  collectives of a layer\n");
        plan.layer().forEach(c -> collective(s, c));
        s.append("  before the layers\n");
        plan.prologue().forEach(c -> collective(s, c));
        s.append("  after the layers\n");
        plan.epilogue().forEach(c -> collective(s, c));
        TensorParallelPlan.Report r = plan.explain();
        s.append("collectives per layer: forward ").append(r.forward().base()).append(" base + ")
                .append(r.forward().bypass()).append(" bypass; backward ").append(r.backward().base())
                .append(" base + ").append(r.backward().bypass()).append(" bypass (per optimizer step)");
        return s.toString();
    }

    private static void partitions(StringBuilder s, Map<String, Partition> partitions) {
        partitions.forEach((name, p) -> s.append(String.format("    %-26s %-11s %-9s %6d%s%n", name, p.sharding(),
                p.along() == null ? "" : p.along(), p.perRank(), p.replicas() > 1 ? "  x" + p.replicas() + " replicas" : "")));
    }

    private static void collective(StringBuilder s, Collective c) {
        String bytes = c.bytesPerStep() > 0 ? c.bytesPerStep() + " B per step" : c.bytesPerToken() + " B per token";
        s.append(String.format("    %-9s %-10s after %-18s %-20s %-6s%s%n", c.pass(), c.op(), c.after(), bytes, c.kind(),
                c.group().equals("all") ? "" : "  among " + c.group()));
    }
}
