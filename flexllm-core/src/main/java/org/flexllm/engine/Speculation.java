package org.flexllm.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.FlexLlmException;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.graph.CompiledModel;
import org.flexllm.kv.BlockTable;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.sampling.Logprobs;
import org.flexllm.sampling.SampledToken;
import org.flexllm.schedule.Composition;
import org.flexllm.schedule.IterationPlan;
import org.flexllm.schedule.LatencyModel;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;
import org.flexllm.schedule.TreeDrafting;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.Speculator;
import org.flexllm.speculation.TreeRound;
import org.flexllm.speculation.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Speculative decoding inside the iteration loop. While the scheduler plans, it asks the {@link Speculator} for
 * a tree per decoding request within the iteration's budget (the tree tokens whose predicted latency keeps the
 * tightest TPOT) and gives each tree the KV blocks it needs. The batch then carries every tree node beside its
 * root; the logits of the nodes land here. After the pass the speculator judges each tree: the accepted path's
 * keys and values are moved into the positions they now hold, the blocks past them go back, and the path's
 * tokens and the bonus token are emitted as sampled tokens.
 */
final class Speculation implements TreeDrafting, TreeRound {
    private static final Logger LOG = LoggerFactory.getLogger(Speculation.class);
    /** Trees are planned to end the iteration within this share of the tightest TPOT. */
    private static final double MARGIN = 0.95;

    private final Speculator speculator;
    private final LatencyModel latency;
    private final PagedKvCache kv;
    private final CompiledModel model;
    private final Map<Sequence, Request> live;
    private final int tokenBudget;
    private final int maxModelLen;
    private final SpeculationMetrics metrics;
    private final int vocabSize;
    /** Logits rows, reused from iteration to iteration; {@link #rowsUsed} are taken in the current one. */
    private final List<float[]> rowPool = new ArrayList<>();
    private int rowsUsed;
    // The current iteration.
    private final List<Request> decoding = new ArrayList<>();
    private final DraftTree[] proposed;
    private final Map<Sequence, Tree> trees = new HashMap<>();
    private final List<Tree> order = new ArrayList<>();
    private long now;
    private Composition inference;
    private long contextPerToken;
    private int budget;
    private boolean surplus;

    /** A tree being verified: its request, where its root sits, and its nodes' logits. */
    private record Tree(Request request, DraftTree tree, int root, float[][] logits) {}

    Speculation(Speculator speculator, LatencyModel latency, PagedKvCache kv, CompiledModel model,
                Map<Sequence, Request> live, EngineConfig config, int vocabSize, SpeculationMetrics metrics) {
        this.speculator = speculator;
        this.latency = latency;
        this.kv = kv;
        this.model = model;
        this.live = live;
        this.tokenBudget = config.tokenBudget();
        this.maxModelLen = config.maxModelLen();
        this.vocabSize = vocabSize;
        this.metrics = metrics;
        this.proposed = new DraftTree[config.maxSequences()];
    }

    @Override
    public Composition draft(IterationPlan plan, Composition inference, boolean surplus) {
        clear();
        List<ScheduledChunk> chunks = plan.chunks();
        long context = 0;
        for (int i = 0; i < chunks.size() && decoding.size() < proposed.length; i++) {
            Request r = live.get(chunks.get(i).sequence());
            if (chunks.get(i).isDecode() && r.speculative) {
                decoding.add(r);
                context += chunks.get(i).start() + 2;
            }
        }
        if (decoding.isEmpty()) {
            return inference;
        }
        this.inference = inference;
        this.surplus = surplus;
        this.contextPerToken = context / decoding.size();
        this.budget = budget(tightestTpotMs());
        try {
            speculator.draft(this);
        } catch (RuntimeException e) {
            // A failing draft costs its iteration the speedup, never the requests: they decode their roots.
            LOG.error("drafting failed; this iteration decodes without speculation", e);
            Arrays.fill(proposed, null);
        }
        return withTrees(inference);
    }

    /** The most tree tokens whose iteration ends within {@code limitMs}, as the latency model bounds it. */
    private int budget(double limitMs) {
        int room = tokenBudget - inference.forwardTokens();
        int lo = 0;
        int hi = Math.max(0, room);
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (latency.boundMs(inference.plusTree(mid, mid * contextPerToken)) <= limitMs) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private double tightestTpotMs() {
        double tightest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < decoding.size(); i++) {
            tightest = Math.min(tightest, decoding.get(i).slo.tpotMs());
        }
        return MARGIN * tightest;
    }

    /** Takes the proposed trees, cut to the budget, the context limit and the KV blocks free; adds their tokens. */
    private Composition withTrees(Composition c) {
        int left = budget;
        for (int i = 0; i < decoding.size(); i++) {
            DraftTree tree = proposed[i];
            if (tree == null || tree.size() == 1 || left == 0) {
                continue;
            }
            Request r = decoding.get(i);
            int root = r.sequence.length() - 1;
            int nodes = Math.min(Math.min(tree.size(), left + 1), Math.min(maxModelLen - root, roomInKv(r, root)));
            if (nodes <= 1) {
                continue;
            }
            DraftTree kept = nodes == tree.size() ? tree : prefix(tree, nodes);
            r.sequence.blocks().growTo(root + nodes, kv.blockSize(), kv.blocks());
            var t = new Tree(r, kept, root, takeRows(nodes));
            trees.put(r.sequence, t);
            order.add(t);
            left -= nodes - 1;
            long keys = 0;
            for (int n = 1; n < nodes; n++) {
                keys += root + kept.depth(n) + 1;
            }
            c = c.plusTree(nodes - 1, keys);
        }
        return c;
    }

    /** Nodes the sequence's blocks can hold from its root on, with the free blocks added. */
    private int roomInKv(Request r, int root) {
        BlockTable blocks = r.sequence.blocks();
        return (blocks.size() + kv.blocks().free()) * kv.blockSize() - root;
    }

    private static DraftTree prefix(DraftTree tree, int nodes) {
        return new DraftTree(Arrays.copyOf(tree.tokens(), nodes), Arrays.copyOf(tree.parents(), nodes));
    }

    private float[][] takeRows(int nodes) {
        float[][] rows = new float[nodes][];
        for (int i = 0; i < nodes; i++) {
            if (rowsUsed == rowPool.size()) {
                rowPool.add(new float[vocabSize]);
            }
            rows[i] = rowPool.get(rowsUsed++);
        }
        return rows;
    }

    /** The tree the sequence verifies this iteration, or null when it decodes its root alone. */
    DraftTree treeOf(Sequence s) {
        Tree t = trees.get(s);
        return t == null ? null : t.tree();
    }

    /** Keeps the target's logits at node {@code node} of the sequence's tree. */
    void logits(Sequence s, int node, float[] row) {
        System.arraycopy(row, 0, trees.get(s).logits()[node], 0, vocabSize);
    }

    /**
     * Judges every tree of the iteration: keeps each accepted path's keys and values, releases the rest, and
     * adds the emitted tokens to {@code sampled}; a request whose verification fails goes to {@code failed}.
     */
    void verify(SampledTokens sampled, Map<Request, RuntimeException> failed) {
        for (int i = 0; i < order.size(); i++) {
            Tree t = order.get(i);
            try {
                Verdict verdict = speculator.verify(t.request(), t.tree(), t.logits());
                verdict.checkPathOf(t.tree());
                keepPath(model, kv, t.request().sequence, t.root(), verdict.accepted());
                emit(t, verdict, sampled);
                metrics.verified(t.tree(), verdict);
            } catch (RuntimeException e) {
                failed.put(t.request(), new FlexLlmException("verifying the draft tree of request "
                        + t.request().id() + " failed: " + e.getMessage(), e));
            }
        }
    }

    /**
     * Rolls sequence {@code s}, whose tree rooted at {@code root} was just scored, back to its accepted path: the
     * path's keys and values move to positions root + 1, root + 2, ..., they count as computed, and the blocks
     * past them go back to the cache.
     */
    static void keepPath(CompiledModel model, PagedKvCache kv, Sequence s, int root, int[] accepted) {
        int[] table = s.blocks().blocks();
        int[] from = new int[accepted.length];
        int[] to = new int[accepted.length];
        int moves = 0;
        for (int k = 0; k < accepted.length; k++) {
            if (accepted[k] != k + 1) {
                from[moves] = AttentionBatch.slotOf(table, root + accepted[k], kv.blockSize());
                to[moves++] = AttentionBatch.slotOf(table, root + k + 1, kv.blockSize());
            }
        }
        if (moves > 0) {
            model.copyKv(from, to, moves, kv);
        }
        s.advance(accepted.length);
        s.blocks().truncateTo(s.computed(), kv.blockSize(), kv.blocks());
    }

    private void emit(Tree t, Verdict verdict, SampledTokens sampled) {
        Request r = t.request();
        int[] accepted = verdict.accepted();
        for (int k = 0; k <= accepted.length; k++) {
            int token = k < accepted.length ? t.tree().token(accepted[k]) : verdict.bonus();
            SampledToken logprob = r.params.logprobs().isPresent()
                    ? Logprobs.forToken(t.logits()[verdict.sourceNode(k)], token, r.params.logprobs().getAsInt())
                    : null;
            sampled.add(r, token, logprob);
        }
    }

    /** The request ended: the speculator may drop what it keeps for it. */
    void finished(Request r) {
        speculator.finished(r.id());
    }

    private void clear() {
        decoding.clear();
        Arrays.fill(proposed, null);
        trees.clear();
        order.clear();
        rowsUsed = 0;
    }

    // TreeRound, for the speculator while it drafts.

    @Override
    public int size() {
        return decoding.size();
    }

    @Override
    public Decoding request(int index) {
        return decoding.get(index);
    }

    @Override
    public void propose(int index, DraftTree tree) {
        Request r = decoding.get(index);
        int last = r.sequence.token(r.sequence.length() - 1);
        if (tree.token(0) != last) {
            throw new IllegalArgumentException("a tree for request " + r.id() + " must have its last token " + last
                    + " as root, got " + tree.token(0));
        }
        proposed[index] = tree;
    }

    @Override
    public long nowNanos() {
        return now;
    }

    /** Sets when the iteration being planned starts. */
    void startsAt(long nanos) {
        now = nanos;
    }

    @Override
    public int budget() {
        return budget;
    }

    @Override
    public double predictedMs(int treeTokens) {
        return latency.predictMs(inference.plusTree(treeTokens, treeTokens * contextPerToken));
    }

    @Override
    public boolean surplus() {
        return surplus;
    }
}
