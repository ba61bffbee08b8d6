package org.flexllm.graph;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.backend.Backend;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.model.Rope;
import org.flexllm.model.Rope.RopeTable;

/**
 * A decoder graph after its compile passes, lowered onto a backend: weights resident, one buffer per
 * planned slot sized for {@code maxTokens} tokens, rope rotations precomputed for {@code maxPositions}, and
 * the {@link BackwardPlan} that decides what finetuning keeps.
 */
public final class CompiledModel {
    private final Backend backend;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final DecoderGraph graph;
    private final BackwardPlan plan;
    private final Pruning pruning;
    private final RopeTable rope;
    private final Map<Value, MemorySegment> buffers = new HashMap<>();
    private final int maxTokens;
    private final float[] hostRow;
    private final MemorySegment[] temps;
    private Gradients gradients;
    private Map<Version, MemorySegment> captures;
    /** The residual stream ({@link DecoderGraph#residual()}, which builds a list per call). */
    private final Value residual;
    /** The body's values but the residual stream, whose gradient carries from layer to layer. */
    private final List<Value> bodyValues;
    /** The values the epilogue's ops read: their gradients are zeroed before the loss's backward. */
    private final List<Value> epilogueReads;
    /** Per op of the body, what its backward reads: {@link BackwardPlan#saves}, resolved once. */
    private final Save[][] saves;
    /** The state of a pass, started again for each one: passes run one at a time. */
    private final Step step;
    /** The tensor-parallel group this model leads, or null. */
    private RankGroup ranks;

    /** A value an op's backward reads, in tape slot {@code slot}, or rematerialized ({@code slot} −1). */
    private record Save(Value value, Version version, int slot) {}

    private CompiledModel(Backend backend, ModelConfig config, ModelWeights weights, DecoderGraph graph,
                          Pruning pruning, int maxTokens, int maxPositions) {
        this.backend = backend;
        this.config = config;
        this.weights = weights.map(backend::weight);
        this.graph = graph;
        this.plan = BackwardPlan.of(graph, pruning);
        this.pruning = pruning;
        this.residual = graph.residual();
        this.bodyValues = graph.layer().stream().flatMap(op -> op.writes().stream()).distinct()
                .filter(v -> !v.equals(residual)).toList();
        this.maxTokens = maxTokens;
        this.hostRow = new float[config.vocabSize()];
        this.rope = Rope.table(config, maxPositions);
        long widest = graph.values().stream().filter(v -> v.fixedRows() == 0).mapToLong(Value::width).max()
                .orElseThrow();
        this.temps = new MemorySegment[] {backend.allocate(maxTokens * widest), backend.allocate(maxTokens * widest)};
        BufferPlan buffersPlan = BufferPlan.of(graph, maxTokens);
        List<MemorySegment> slots = buffersPlan.sizes().stream().map(backend::allocate).toList();
        buffersPlan.slotOf().forEach((value, slot) -> buffers.put(value, slots.get(slot)));
        this.epilogueReads = graph.epilogue().stream().flatMap(op -> op.reads().stream()).distinct().toList();
        this.saves = new Save[graph.layer().size()][];
        int maxSaved = 0;
        for (int i = 0; i < saves.length; i++) {
            saves[i] = plan.saves(i).entrySet().stream()
                    .map(e -> new Save(e.getKey(), e.getValue(), plan.slotOf(e.getValue()))).toArray(Save[]::new);
            maxSaved = Math.max(maxSaved, saves[i].length);
        }
        this.step = new Step(backend, config, this.weights, rope, buffers, hostRow, temps, maxSaved);
    }

    /**
     * Runs the passes over the model's graph and lowers the result, pruned for finetuning.
     *
     * @param maxTokens    the most tokens one forward pass will carry (the iteration's token budget)
     * @param maxPositions the longest sequence (positions) the rope table covers
     */
    public static CompiledModel compile(Backend backend, ModelConfig config, ModelWeights weights,
                                        List<GraphPass> passes, int maxTokens, int maxPositions) {
        return compile(backend, config, weights, passes, Pruning.PRUNED, maxTokens, maxPositions);
    }

    /** As {@link #compile(Backend, ModelConfig, ModelWeights, List, int, int)}, with a choice of pruning. */
    public static CompiledModel compile(Backend backend, ModelConfig config, ModelWeights weights,
                                        List<GraphPass> passes, Pruning pruning, int maxTokens, int maxPositions) {
        DecoderGraph graph = LlamaGraph.of(config);
        for (GraphPass pass : passes) {
            graph = pass.apply(graph);
        }
        return new CompiledModel(backend, config, weights, graph, pruning, maxTokens, maxPositions);
    }

    /**
     * One forward pass over the batch: KV of every token written to the cache, logits handed to the sink. A
     * finetuning window in the batch also keeps its activations on its sequence's tape, adds its loss, and
     * leaves the loss's gradient at the top of the residual stream on the tape.
     */
    public void forward(ForwardBatch batch, PagedKvCache kv, LogitsSink sink) {
        if (ranks != null) {
            ranks.forward(batch, kv, sink);
        } else {
            forwardRank(batch, kv, sink);
        }
    }

    /**
     * This model's own share of a forward pass: the whole pass, or on one rank of a tensor-parallel group, the
     * rank's part (the group calls it on every rank's model, each on its own thread).
     */
    public void forwardRank(ForwardBatch batch, PagedKvCache kv, LogitsSink sink) {
        if (batch.n() > maxTokens) {
            throw new IllegalArgumentException("batch of " + batch.n() + " tokens exceeds the compiled "
                    + maxTokens);
        }
        TrainingWindow window = batch.training();
        Step step = this.step.start(batch, kv, sink, window == null ? null : gradients());
        run(graph.prologue(), step);
        for (int l = 0; l < config.numLayers(); l++) {
            step.enterLayer(l);
            List<Op> body = graph.layer();
            for (int i = 0; i < body.size(); i++) {
                if (window != null) {
                    snapshot(window, l, plan.snapshotBefore(i));
                }
                body.get(i).forward(step);
            }
        }
        if (window != null) {
            zeroEpilogueGradients(batch.n());
        }
        run(graph.epilogue(), step);
        if (window != null) {
            lossBackward(step, window);
        }
    }

    private void snapshot(TrainingWindow w, int layer, List<Version> versions) {
        for (int k = 0; k < versions.size(); k++) {
            Version v = versions.get(k);
            long rowBytes = (long) v.value().width() * Float.BYTES;
            MemorySegment.copy(buffers.get(v.value()), w.firstRow() * rowBytes,
                    w.sequence().tape().kept(layer, plan.slotOf(v)), w.firstPosition() * rowBytes,
                    w.count() * rowBytes);
        }
    }

    private void zeroEpilogueGradients(int rows) {
        for (int k = 0; k < epilogueReads.size(); k++) {
            gradients.zero(epilogueReads.get(k), rows);
        }
    }

    /** The epilogue's backward, from the gradient {@link Ops.LmHead} left, down to the window's rows of x. */
    private void lossBackward(Step step, TrainingWindow w) {
        step.useSaved(buffers);
        List<Op> epilogue = graph.epilogue();
        for (int i = epilogue.size() - 1; i >= 0; i--) {
            epilogue.get(i).backward(step);
        }
        Value x = residual;
        long rowBytes = (long) x.width() * Float.BYTES;
        MemorySegment.copy(gradients.of(x), w.firstRow() * rowBytes, w.sequence().tape().residualGrad(),
                w.firstPosition() * rowBytes, w.count() * rowBytes);
    }

    /**
     * Back-propagates a sequence whose forward is complete through layers {@code [bottom, top)}, top-down,
     * adding the bypass parameters' gradients: a backward slice. The first slice starts at the last layer.
     *
     * <p>A slice of one layer may also take a chunk of the sequence's rows, so that a layer too slow for one
     * iteration spreads over several: a layer's chunks run from its last rows to its first. Every op but attention
     * is per row, and attention's backward for a chunk's queries adds to the keys and values of the chunk and of
     * every earlier row (gathered on the tape); so when a chunk runs, all later queries have added theirs, its keys
     * and values' gradients are complete, and its rows' gradient below the layer is too.
     *
     * @param batch the sequence's rows {@code [first, first + n)} as one batch (positions, its block table): the
     *              whole sequence, or for a slice of one layer, the chunk of rows above the ones already done
     */
    public void backward(ForwardBatch batch, PagedKvCache kv, TrainingSequence sequence, int top, int bottom) {
        if (ranks != null) {
            ranks.backward(batch, kv, sequence, top, bottom);
        } else {
            backwardRank(batch, kv, sequence, top, bottom);
        }
    }

    /** This model's own share of a backward slice: see {@link #forwardRank}. */
    public void backwardRank(ForwardBatch batch, PagedKvCache kv, TrainingSequence sequence, int top, int bottom) {
        if (top - bottom > 1 && batch.n() < sequence.length()) {
            throw new IllegalArgumentException("a backward slice of " + (top - bottom) + " layers runs on the whole "
                    + sequence.length() + "-token sequence, not on " + batch.n() + " rows of it");
        }
        Gradients g = gradients();
        Tape tape = sequence.tape();
        int first = batch.training().firstPosition();
        long rowBytes = (long) residual.width() * Float.BYTES;
        long bytes = batch.n() * rowBytes;
        MemorySegment.copy(tape.residualGrad(), first * rowBytes, g.of(residual), 0, bytes);
        Step step = this.step.start(batch, kv, null, g).backwardOf(tape);
        boolean layerStarts = first + batch.n() == sequence.length();
        for (int l = top - 1; l >= bottom; l--) {
            step.enterLayer(l);
            backwardLayer(step, tape, first, layerStarts ? sequence.length() : 0);
        }
        MemorySegment.copy(g.of(residual), 0, tape.residualGrad(), first * rowBytes, bytes);
    }

    /**
     * The current layer's backward for the step's rows, from position {@code first}; the cached keys' and values'
     * gradients of the first {@code fresh} positions are zeroed first (the whole sequence when the layer starts).
     */
    private void backwardLayer(Step step, Tape tape, int first, int fresh) {
        List<Op> body = graph.layer();
        for (int k = 0; k < bodyValues.size(); k++) {
            gradients.zero(bodyValues.get(k), step.rows());
        }
        backend.zero(tape.kvGrads().keys(), (long) fresh * config.kvDim());
        backend.zero(tape.kvGrads().values(), (long) fresh * config.kvDim());
        replay(step, tape, first);
        for (int i = body.size() - 1; i >= 0; i--) {
            useSaved(step, i, tape, first);
            body.get(i).backward(step);
        }
    }

    /** Re-runs the ops whose outputs the backward needs and were not kept, capturing those outputs. */
    private void replay(Step step, Tape tape, int first) {
        List<Op> body = graph.layer();
        long rows = step.rows();
        for (int i = 0; i < body.size(); i++) {
            List<Version> restore = plan.restoreBefore(i);
            for (int k = 0; k < restore.size(); k++) {
                Version v = restore.get(k);
                long rowBytes = (long) v.value().width() * Float.BYTES;
                MemorySegment.copy(tape.kept(step.layer(), plan.slotOf(v)), first * rowBytes, buffers.get(v.value()),
                        0, rows * rowBytes);
            }
            List<Version> capture = plan.captureBefore(i);
            for (int k = 0; k < capture.size(); k++) {
                Version v = capture.get(k);
                MemorySegment.copy(buffers.get(v.value()), 0, captures.get(v), 0,
                        rows * v.value().width() * Float.BYTES);
            }
            if (plan.replays(i)) {
                body.get(i).forward(step);
            }
        }
    }

    /**
     * Hands op {@code op}'s backward what it saved: kept on the tape (the rows from position {@code first}), or
     * captured by the replay.
     */
    private void useSaved(Step step, int op, Tape tape, int first) {
        step.clearSaved();
        for (Save s : saves[op]) {
            step.save(s.value(), s.slot() >= 0
                    ? tape.kept(step.layer(), s.slot()).asSlice((long) first * s.value().width() * Float.BYTES)
                    : captures.get(s.version()));
        }
    }

    private Gradients gradients() {
        if (gradients == null) {
            gradients = new Gradients(backend, graph, maxTokens);
            captures = new HashMap<>();
            for (Version v : plan.rematerialized()) {
                captures.put(v, backend.allocate(v.value().floats(maxTokens)));
            }
        }
        return gradients;
    }

    /**
     * Moves the keys and values of every layer from slots {@code from[i]} to slots {@code to[i]}, {@code i < count},
     * in {@code kv} (speculation keeping a tree's accepted path); on the leader of a tensor-parallel group, in every
     * rank's cache, each holding its own KV heads at the same slots.
     */
    public void copyKv(int[] from, int[] to, int count, PagedKvCache kv) {
        if (ranks != null) {
            ranks.copyKv(from, to, count, kv);
        } else {
            copyKvRank(from, to, count, kv);
        }
    }

    /** This model's own share of {@link #copyKv}: see {@link #forwardRank}. */
    public void copyKvRank(int[] from, int[] to, int count, PagedKvCache kv) {
        for (int l = 0; l < kv.layers(); l++) {
            backend.copyKv(from, to, count, kv.layer(l));
        }
    }

    /**
     * Makes this model the leader of a tensor-parallel group: its {@link #forward}, {@link #backward},
     * {@link #copyKv} and {@link #newTape} then run every rank's share through {@code group}.
     */
    public void leadRanks(RankGroup group) {
        this.ranks = group;
    }

    /**
     * A tape for finetuning sequences of up to {@code maxSequenceTokens} tokens (at most the compiled batch); on the
     * leader of a tensor-parallel group, one on every rank.
     */
    public Tape newTape(int maxSequenceTokens) {
        return ranks != null ? ranks.newTape(maxSequenceTokens) : newRankTape(maxSequenceTokens);
    }

    /** This model's own tape: see {@link #forwardRank}. */
    public Tape newRankTape(int maxSequenceTokens) {
        if (maxSequenceTokens > maxTokens) {
            throw new IllegalArgumentException("sequences of " + maxSequenceTokens + " tokens exceed the compiled "
                    + maxTokens + " tokens per pass, which the backward runs at once");
        }
        return new Tape(backend, plan, config.numLayers(), config.hiddenSize(), config.kvDim(), maxSequenceTokens);
    }

    /** The activations a finetuning forward keeps per token, and where (the pruning plan). */
    public ActivationReport explain() {
        List<ActivationReport.Kept> kept = new ArrayList<>();
        List<Op> body = graph.layer();
        for (int i = 0; i < body.size(); i++) {
            for (Version v : plan.snapshotBefore(i)) {
                kept.add(new ActivationReport.Kept(v.value().name(), body.get(i).label(),
                        (long) v.value().width() * Float.BYTES * config.numLayers()));
            }
        }
        kept.add(new ActivationReport.Kept(graph.residual().name() + " grad", "the backward (from the loss)",
                (long) config.hiddenSize() * Float.BYTES));
        return new ActivationReport(pruning, kept, kept.stream().mapToLong(ActivationReport.Kept::bytesPerToken).sum());
    }

    private static void run(List<Op> ops, Step step) {
        for (int i = 0; i < ops.size(); i++) {
            ops.get(i).forward(step);
        }
    }

    public ModelConfig config() {
        return config;
    }

    public DecoderGraph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }
}
