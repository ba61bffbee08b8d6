package org.flexllm.parallel;

import static org.flexllm.parallel.Collective.BACKWARD;
import static org.flexllm.parallel.Collective.BASE;
import static org.flexllm.parallel.Collective.FORWARD;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.backend.VocabShard;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;

/**
 * How a decoder and its PEFT bypass ops are split over {@code ranks} tensor-parallel ranks, and the collectives
 * that split costs.
 *
 * <p>The frozen model is split Megatron-style: q/k/v and gate/up column-parallel (each rank its heads and its
 * slice of the MLP units), o_proj and down_proj row-parallel, their partial sums all-reduced before they join the
 * residual stream; embeddings and lm_head by vocabulary (the embedding rows a rank does not hold contribute zeros
 * to an all-reduce; the logits are gathered for the sampler). KV heads are split like the query heads they serve,
 * or replicated where there are fewer KV heads than ranks.
 *
 * <p>The dependent partitioning of each bypass op follows from its frozen Linear's, so that the forward pass needs
 * no collective of its own: on a column-parallel Linear LoRA's A is replicated (it reads the replicated input) and
 * B split by output like W; on a row-parallel one A is split by input like W, and B replicated, so that each
 * rank's {@code xa_r·Bᵀ} is a partial sum that rides the Linear's own all-reduce. IA3 scales are split like the
 * output or input they scale. The backward adds, per layer, only the all-reduce of each replicated bypass weight's
 * gradient partials, once per optimizer step (gradients accumulate linearly, so the partials can too).
 */
public final class TensorParallelPlan {
    private final ModelConfig model;
    private final int ranks;
    private final BypassTargets bypass;

    private TensorParallelPlan(ModelConfig model, int ranks, BypassTargets bypass) {
        this.model = model;
        this.ranks = ranks;
        this.bypass = bypass;
    }

    /**
     * The plan for {@code model} over {@code ranks} ranks with {@code bypass} attached.
     *
     * @throws TensorParallelException when the heads, KV heads or MLP width do not split evenly, or a bypass cannot
     *                                 be partitioned like its Linear
     */
    public static TensorParallelPlan of(ModelConfig model, int ranks, BypassTargets bypass) {
        requireSplittable(model, ranks);
        for (Projection p : bypass.ia3Input()) {
            if (LinearSplit.of(p) == LinearSplit.COLUMN && ranks > 1) {
                throw new TensorParallelException("IA3 cannot scale the input of " + p.moduleName() + " under tensor"
                        + " parallelism: its input is replicated while its gradient is a partial sum on each rank");
            }
        }
        for (Projection p : bypass.ia3Output()) {
            if (LinearSplit.of(p) == LinearSplit.ROW && ranks > 1) {
                throw new TensorParallelException("IA3 cannot scale the output of " + p.moduleName() + " under"
                        + " tensor parallelism: it is a partial sum until the all-reduce adds it to the residual");
            }
        }
        return new TensorParallelPlan(model, ranks, bypass);
    }

    private static void requireSplittable(ModelConfig c, int ranks) {
        if (ranks < 1) {
            throw new TensorParallelException("tensor parallelism needs at least 1 rank, not " + ranks);
        }
        if (ranks > c.numHeads()) {
            throw new TensorParallelException(ranks + " ranks exceed the model's " + c.numHeads()
                    + " attention heads: each rank needs at least one");
        }
        if (c.numHeads() % ranks != 0) {
            throw new TensorParallelException("num_attention_heads " + c.numHeads() + " is not divisible by "
                    + ranks + " ranks");
        }
        int kv = c.numKvHeads();
        if (kv >= ranks ? kv % ranks != 0 : ranks % kv != 0) {
            throw new TensorParallelException("num_key_value_heads " + kv + " cannot be shared by " + ranks
                    + " ranks: it must be a multiple of the ranks, or divide them (each KV head then replicated)");
        }
        if (c.intermediateSize() % ranks != 0) {
            throw new TensorParallelException("intermediate_size " + c.intermediateSize() + " is not divisible by "
                    + ranks + " ranks");
        }
    }

    public ModelConfig model() {
        return model;
    }

    public int ranks() {
        return ranks;
    }

    public BypassTargets bypass() {
        return bypass;
    }

    public int headsPerRank() {
        return model.numHeads() / ranks;
    }

    public int kvHeadsPerRank() {
        return Math.max(1, model.numKvHeads() / ranks);
    }

    /** Ranks holding each KV head: 1, or {@code ranks / numKvHeads} when KV heads are fewer than ranks. */
    public int kvReplicas() {
        return Math.max(1, ranks / model.numKvHeads());
    }

    /** The first KV head rank {@code rank} holds. */
    public int firstKvHead(int rank) {
        return rank / kvReplicas() * kvHeadsPerRank();
    }

    public int intermediatePerRank() {
        return model.intermediateSize() / ranks;
    }

    /** Vocabulary rows per rank; the last rank's slice is padded with zero rows where the ranks do not divide it. */
    public int vocabPerRank() {
        return Math.ceilDiv(model.vocabSize(), ranks);
    }

    /** The shape one rank computes: its heads, KV heads and MLP units; the full hidden width and vocabulary. */
    public ModelConfig rankConfig() {
        ModelConfig c = model;
        return new ModelConfig(c.architecture(), c.hiddenSize(), intermediatePerRank(), c.numLayers(),
                headsPerRank(), kvHeadsPerRank(), c.headDim(), c.vocabSize(), c.rmsNormEps(), c.ropeTheta(),
                c.ropeScaling(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(), c.qkvBias(), c.oBias(),
                c.mlpBias(), c.bosTokenId(), c.eosTokenIds());
    }

    /** Floats per token of {@code p}'s output on one rank (a column-parallel Linear) or in full (a row-parallel one). */
    public int outputsPerRank(Projection p) {
        return switch (p) {
            case Q_PROJ -> headsPerRank() * model.headDim();
            case K_PROJ, V_PROJ -> kvHeadsPerRank() * model.headDim();
            case GATE_PROJ, UP_PROJ -> intermediatePerRank();
            case O_PROJ, DOWN_PROJ -> model.hiddenSize();
        };
    }

    /** Floats per token of {@code p}'s input on one rank. */
    public int inputsPerRank(Projection p) {
        return switch (p) {
            case Q_PROJ, K_PROJ, V_PROJ, GATE_PROJ, UP_PROJ -> model.hiddenSize();
            case O_PROJ -> headsPerRank() * model.headDim();
            case DOWN_PROJ -> intermediatePerRank();
        };
    }

    /** The first of {@code p}'s output rows that rank {@code rank} holds (0 for a row-parallel Linear: all of them). */
    public int firstOutput(Projection p, int rank) {
        return switch (p) {
            case Q_PROJ, GATE_PROJ, UP_PROJ -> rank * outputsPerRank(p);
            case K_PROJ, V_PROJ -> firstKvHead(rank) * model.headDim();
            case O_PROJ, DOWN_PROJ -> 0;
        };
    }

    /** The first of {@code p}'s input columns that rank {@code rank} holds (0 for a column-parallel Linear: all). */
    public int firstInput(Projection p, int rank) {
        return LinearSplit.of(p) == LinearSplit.ROW ? rank * inputsPerRank(p) : 0;
    }

    private int replicasOf(Projection p) {
        return p == Projection.K_PROJ || p == Projection.V_PROJ ? kvReplicas() : 1;
    }

    /** The name of the partial sum a row-parallel Linear writes before its all-reduce. */
    public static String partialName(Projection p) {
        return p.moduleName() + ".partial";
    }

    /** Per layer: how each activation of the layer body is laid out. */
    public Map<String, Partition> values() {
        Map<String, Partition> v = new LinkedHashMap<>();
        int hidden = model.hiddenSize();
        v.put("x", Partition.of(Sharding.REPLICATED, hidden));
        v.put("h", Partition.of(Sharding.REPLICATED, hidden));
        v.put("q", Partition.split("heads", outputsPerRank(Projection.Q_PROJ), 1));
        v.put("k", Partition.split("kv_heads", outputsPerRank(Projection.K_PROJ), kvReplicas()));
        v.put("v", Partition.split("kv_heads", outputsPerRank(Projection.V_PROJ), kvReplicas()));
        v.put("att", Partition.split("heads", outputsPerRank(Projection.Q_PROJ), 1));
        v.put(partialName(Projection.O_PROJ), Partition.of(Sharding.PARTIAL_SUM, hidden));
        v.put("h2", Partition.of(Sharding.REPLICATED, hidden));
        v.put("gate", Partition.split("units", intermediatePerRank(), 1));
        v.put("up", Partition.split("units", intermediatePerRank(), 1));
        v.put("act", Partition.split("units", intermediatePerRank(), 1));
        v.put(partialName(Projection.DOWN_PROJ), Partition.of(Sharding.PARTIAL_SUM, hidden));
        for (Projection p : Projection.values()) {
            if (bypass.lora().contains(p)) {
                v.put(p.moduleName() + ".lora_xa", LinearSplit.of(p) == LinearSplit.COLUMN
                        ? Partition.of(Sharding.REPLICATED, bypass.loraRank())
                        : Partition.of(Sharding.PARTIAL_SUM, bypass.loraRank()));
            }
        }
        return Collections.unmodifiableMap(v);
    }

    /** Per layer: how each frozen weight and each bypass weight is split (the dependent partitioning). */
    public Map<String, Partition> weights() {
        Map<String, Partition> w = new LinkedHashMap<>();
        w.put("input_layernorm", Partition.of(Sharding.REPLICATED, model.hiddenSize()));
        w.put("post_attention_layernorm", Partition.of(Sharding.REPLICATED, model.hiddenSize()));
        for (Projection p : Projection.values()) {
            String m = p.moduleName();
            boolean column = LinearSplit.of(p) == LinearSplit.COLUMN;
            Partition byOutput = Partition.split("output", outputsPerRank(p), replicasOf(p));
            Partition byInput = Partition.split("input", inputsPerRank(p), 1);
            w.put(m, column ? byOutput : byInput);
            if (bypass.lora().contains(p)) {
                w.put(m + ".lora_A", column ? Partition.of(Sharding.REPLICATED, inputsPerRank(p)) : byInput);
                w.put(m + ".lora_B", column ? byOutput : Partition.of(Sharding.REPLICATED, outputsPerRank(p)));
            }
            if (bypass.ia3Output().contains(p)) {
                w.put(m + ".ia3_l", byOutput);
            }
            if (bypass.ia3Input().contains(p)) {
                w.put(m + ".ia3_l", column ? Partition.of(Sharding.REPLICATED, inputsPerRank(p)) : byInput);
            }
        }
        return Collections.unmodifiableMap(w);
    }

    /** The embeddings, final norm and lm_head. */
    public Map<String, Partition> modelWeights() {
        Map<String, Partition> w = new LinkedHashMap<>();
        w.put("embed_tokens", Partition.split("vocab", vocabPerRank(), 1));
        w.put("norm", Partition.of(Sharding.REPLICATED, model.hiddenSize()));
        w.put("lm_head", Partition.split("vocab", vocabPerRank(), 1));
        return Collections.unmodifiableMap(w);
    }

    /** Before the first layer: the embedding rows each rank holds, summed. */
    public List<Collective> prologue() {
        return ranks == 1 ? List.of() : List.of(
                Collective.perToken("all_reduce", "embed_tokens", hiddenBytes(), BASE, FORWARD));
    }

    /** Each layer's collectives, forward then backward, base and bypass. */
    public List<Collective> layer() {
        if (ranks == 1) {
            return List.of();
        }
        List<Collective> c = new ArrayList<>();
        c.add(Collective.perToken("all_reduce", Projection.O_PROJ.moduleName(), hiddenBytes(), BASE, FORWARD));
        c.add(Collective.perToken("all_reduce", Projection.DOWN_PROJ.moduleName(), hiddenBytes(), BASE, FORWARD));
        // Backward, top-down: the column-parallel Linears' input gradients are partial sums on each rank.
        c.add(Collective.perToken("all_reduce", Projection.GATE_PROJ.moduleName(), hiddenBytes(), BASE, BACKWARD));
        c.add(Collective.perToken("all_reduce", Projection.Q_PROJ.moduleName(), hiddenBytes(), BASE, BACKWARD));
        for (Projection p : Projection.values()) {
            c.addAll(gradientSyncs(p));
        }
        return List.copyOf(c);
    }

    /**
     * The gradient all-reduces {@code p}'s bypass weights need: a replicated weight's gradient is a partial sum on
     * each rank (column-parallel A sees only its rank's share of {@code dxa}; row-parallel B only its rank's
     * {@code xa}); a weight of KV heads replicated over several ranks gets partial gradients from each.
     */
    private List<Collective> gradientSyncs(Projection p) {
        List<Collective> c = new ArrayList<>();
        String m = p.moduleName();
        boolean column = LinearSplit.of(p) == LinearSplit.COLUMN;
        int r = bypass.loraRank();
        if (bypass.lora().contains(p)) {
            if (column) {
                c.add(Collective.gradientSync(m + ".lora_A", (long) r * inputsPerRank(p) * Float.BYTES, "all"));
                if (replicasOf(p) > 1) {
                    c.add(Collective.gradientSync(m + ".lora_B", (long) outputsPerRank(p) * r * Float.BYTES,
                            "kv_replicas"));
                }
            } else {
                c.add(Collective.gradientSync(m + ".lora_B", (long) outputsPerRank(p) * r * Float.BYTES, "all"));
            }
        }
        if (bypass.ia3Output().contains(p) && replicasOf(p) > 1) {
            c.add(Collective.gradientSync(m + ".ia3_l", (long) outputsPerRank(p) * Float.BYTES, "kv_replicas"));
        }
        return c;
    }

    /**
     * After the last layer: the logits gathered for the sampler (per sampled row); for a finetuning window's trained
     * rows, each rank's softmax statistics gathered (the loss is computed across the vocabulary's shards, no row of
     * logits gathered), and the loss's gradient into the model.
     */
    public List<Collective> epilogue() {
        return ranks == 1 ? List.of() : List.of(
                Collective.perToken("all_gather", "lm_head", (long) vocabPerRank() * Float.BYTES, BASE, FORWARD),
                Collective.perToken("all_gather", "cross_entropy", (long) VocabShard.STATS
                        * Float.BYTES, BASE, FORWARD),
                Collective.perToken("all_reduce", "lm_head", hiddenBytes(), BASE, BACKWARD));
    }

    private long hiddenBytes() {
        return (long) model.hiddenSize() * Float.BYTES;
    }

    /** Collectives per layer of {@code pass} ({@code forward}, {@code backward}) and {@code kind} ({@code base}, {@code bypass}). */
    public int collectivesPerLayer(String pass, String kind) {
        return (int) layer().stream().filter(c -> c.pass().equals(pass) && c.kind().equals(kind)).count();
    }

    /** The plan as {@code flexllm explain --tp N --json} prints it. */
    public Report explain() {
        LayerReport layer = new LayerReport(values(), weights(), layer());
        return new Report(ranks, Collections.nCopies(model.numLayers(), layer), modelWeights(), prologue(), epilogue(),
                counts(FORWARD), counts(Collective.BACKWARD));
    }

    private Counts counts(String pass) {
        return new Counts(collectivesPerLayer(pass, BASE), collectivesPerLayer(pass, Collective.BYPASS));
    }

    /** What {@link #explain()} reports. */
    public record Report(@JsonProperty("tp") int tp,
                         @JsonProperty("layers") List<LayerReport> layers,
                         @JsonProperty("model_weights") Map<String, Partition> modelWeights,
                         @JsonProperty("prologue") List<Collective> prologue,
                         @JsonProperty("epilogue") List<Collective> epilogue,
                         @JsonProperty("forward_collectives_per_layer") Counts forward,
                         @JsonProperty("backward_collectives_per_layer") Counts backward) {}

    /** One decoder layer: the partition of every value and weight, and its collectives. */
    public record LayerReport(@JsonProperty("values") Map<String, Partition> values,
                              @JsonProperty("weights") Map<String, Partition> weights,
                              @JsonProperty("collectives") List<Collective> collectives) {}

    /** Collectives per layer, split into the frozen model's and the bypass ops'. */
    public record Counts(@JsonProperty("base") int base, @JsonProperty("bypass") int bypass) {}
}
