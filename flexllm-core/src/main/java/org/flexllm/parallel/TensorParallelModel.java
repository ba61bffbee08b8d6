package org.flexllm.parallel;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.Backend;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.ForwardBatch;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.LogitsSink;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.RankGroup;
import org.flexllm.graph.Tape;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.graph.TrainingWindow;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelWeights;

/**
 * A model split over the ranks of an in-process group, each rank a backend of its own with its weight slices,
 * its KV heads' cache and its compiled graph, run on its own thread. Rank 0's compiled model is the
 * {@linkplain #leader() leader}: an engine drives it as it would a single model, and each forward pass, backward
 * slice and finetuning tape it is asked for is made on every rank (a finetuning sequence on a leader's tape runs on
 * each other rank as a copy on that rank's tape). Every rank's cache has as many blocks as the leader's, so the
 * slots the engine allocates in the leader's are valid in all of them.
 */
public final class TensorParallelModel implements RankGroup, AutoCloseable {
    private final TensorParallelPlan plan;
    private final List<Backend> backends = new ArrayList<>();
    private final List<CompiledModel> models = new ArrayList<>();
    private final List<PagedKvCache> caches = new ArrayList<>();
    private final List<CountingCommunicator> communicators = new ArrayList<>();
    /** The tapes {@link #newTape} made, by the leader's; used by the engine thread only. */
    private final Map<Tape, RankTapes> tapes = new IdentityHashMap<>();
    private final Arena arena = Arena.ofShared();
    private final RankThreads threads;

    /**
     * @param settings the compile settings every rank shares
     * @param passes   rank {@code r}'s bypass passes, run after the tensor-parallel pass (none for the base model)
     */
    private TensorParallelModel(TensorParallelPlan plan, ModelWeights weights, IntFunction<Backend> backendOf,
                                IntFunction<List<GraphPass>> passes, Settings settings) {
        this.plan = plan;
        InProcessGroup group = InProcessGroup.of(plan.ranks(), settings.deadline());
        for (int r = 0; r < plan.ranks(); r++) {
            communicators.add(new CountingCommunicator(group.rank(r)));
        }
        this.threads = new RankThreads(List.copyOf(communicators), settings.deadline());
        try {
            for (int r = 0; r < plan.ranks(); r++) {
                Backend b = backendOf.apply(r);
                backends.add(b);
                List<GraphPass> all = new ArrayList<>();
                all.add(new TensorParallelPass(plan, r, communicators.get(r)));
                all.addAll(passes.apply(r));
                models.add(CompiledModel.compile(b, plan.rankConfig(), RankWeights.of(plan, r, weights, arena), all,
                        settings.pruning(), settings.maxTokens(), settings.maxPositions()));
                caches.add(PagedKvCache.allocate(b, plan.rankConfig(), settings.blockSize(), settings.kvBytesPerRank()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * What every rank is compiled with.
     *
     * @param kvBytesPerRank each rank's KV-cache budget (its KV heads only)
     * @param deadline       the longest a rank waits for the others in a collective
     */
    public record Settings(Pruning pruning, int maxTokens, int maxPositions, int blockSize, long kvBytesPerRank,
                           Duration deadline) {}

    /**
     * Compiles every rank of {@code plan}: rank {@code r} computes on {@code backendOf.apply(r)}, with the bypass ops
     * of {@code passes.apply(r)} (asked in rank order) over the rank's slices of the adapters' weights, partitioned as
     * the plan's dependent parallelization derives them ({@code plan.bypass()} names those it checked and reports).
     */
    public static TensorParallelModel compile(TensorParallelPlan plan, ModelWeights weights,
                                              IntFunction<Backend> backendOf, IntFunction<List<GraphPass>> passes,
                                              Settings settings) {
        return new TensorParallelModel(plan, weights, backendOf, passes, settings);
    }

    public TensorParallelPlan plan() {
        return plan;
    }

    /**
     * Rank 0's model made the group's leader: its {@link CompiledModel#forward} runs all ranks; its cache is
     * {@code cache(0)}. A model driven through its leader is no longer driven rank by rank ({@link #rank}).
     */
    public CompiledModel leader() {
        models.getFirst().leadRanks(this);
        return models.getFirst();
    }

    /** Rank {@code r}'s own model, for driving the ranks one by one ({@link #run}). */
    public CompiledModel rank(int r) {
        return models.get(r);
    }

    public PagedKvCache cache(int r) {
        return caches.get(r);
    }

    /** Rank {@code r}'s communicator, which counts its collectives. */
    public CountingCommunicator communicator(int r) {
        return communicators.get(r);
    }

    /** Runs {@code work} for every rank, each on its rank's thread; see {@link RankThreads#run}. */
    public void run(IntConsumer work) {
        threads.run(work);
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache kv, LogitsSink sink) {
        List<ForwardBatch> local = onRanks(batch);
        threads.run(r -> models.get(r).forwardRank(local.get(r), r == 0 ? kv : caches.get(r), r == 0 ? sink : null));
    }

    @Override
    public void backward(ForwardBatch batch, PagedKvCache kv, TrainingSequence sequence, int top, int bottom) {
        List<ForwardBatch> local = onRanks(batch);
        List<TrainingSequence> sequences = sequences(sequence);
        threads.run(r -> models.get(r).backwardRank(local.get(r), r == 0 ? kv : caches.get(r), sequences.get(r), top,
                bottom));
    }

    @Override
    public void copyKv(int[] from, int[] to, int count, PagedKvCache kv) {
        threads.run(r -> models.get(r).copyKvRank(from, to, count, r == 0 ? kv : caches.get(r)));
    }

    /** One tape on every rank, each on the rank's backend; the leader's stands for all of them. */
    @Override
    public Tape newTape(int maxSequenceTokens) {
        List<Tape> all = models.stream().map(m -> m.newRankTape(maxSequenceTokens)).toList();
        tapes.put(all.getFirst(), new RankTapes(all));
        return all.getFirst();
    }

    /** The batch as each rank sees it: its own heads and KV heads, a finetuning window on the rank's own tape. */
    private List<ForwardBatch> onRanks(ForwardBatch b) {
        AttentionBatch a = b.attention();
        AttentionBatch local = new AttentionBatch(plan.headsPerRank(), plan.kvHeadsPerRank(), a.headDim(),
                a.blockSize(), a.n(), a.slot(), a.sequence(), a.visible(), a.treeStart(), a.ancestors(),
                a.blockTables());
        TrainingWindow w = b.training();
        List<TrainingSequence> sequences = w == null ? null : sequences(w.sequence());
        List<ForwardBatch> batches = new ArrayList<>(plan.ranks());
        for (int r = 0; r < plan.ranks(); r++) {
            TrainingWindow window = w == null ? null
                    : new TrainingWindow(sequences.get(r), w.firstRow(), w.firstPosition(), w.count(), w.lossWeight());
            batches.add(new ForwardBatch(b.n(), b.tokens(), b.positions(), b.adapters(), local, b.logitRows(),
                    b.logitCount(), b.logitTargets(), window));
        }
        return batches;
    }

    /** {@code s} on every rank, by rank. */
    private List<TrainingSequence> sequences(TrainingSequence s) {
        RankTapes siblings = tapes.get(s.tape());
        if (siblings == null) {
            throw new IllegalArgumentException("a finetuning sequence on a tape the group's leader did not make"
                    + " (CompiledModel.newTape)");
        }
        return siblings.of(s);
    }

    /**
     * A leader's tape and its siblings on the other ranks, by rank; and the sequence on the leader's tape they last
     * served, with its copies on theirs (a tape holds one sequence at a time).
     */
    private static final class RankTapes {
        private final List<Tape> tapes;
        private TrainingSequence leader;
        private List<TrainingSequence> sequences;

        RankTapes(List<Tape> tapes) {
            this.tapes = tapes;
        }

        List<TrainingSequence> of(TrainingSequence s) {
            if (s != leader) {
                leader = s;
                sequences = tapes.stream().map(t -> t == s.tape() ? s : s.onTape(t)).toList();
            }
            return sequences;
        }
    }

    /** Closes every rank's backend, the rank threads and the weight copies. */
    @Override
    public void close() {
        if (!backends.isEmpty()) {
            backends.getFirst().close();
        }
        closeFollowers();
    }

    /**
     * Closes all but the leader's backend: the other ranks', the rank threads and the weight copies. For an owner
     * of the leader that closes its backend itself (an engine closes its model's backend).
     */
    public void closeFollowers() {
        threads.close();
        backends.stream().skip(1).forEach(Backend::close);
        arena.close();
    }
}
