package org.flexllm.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.flexllm.FlexLlmException;
import org.flexllm.api.LoadedModel;
import org.flexllm.graph.CompiledModel;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.SpeculationTarget;

/**
 * A small model that drafts for the target, run on the target's backend with a KV cache of its own: the target's
 * first layers with its final norm and lm_head (early exit, no weights of its own), or a separate model folder
 * with the target's vocabulary. It scores partial token trees, one level of drafting per call: each request's
 * sequence catches up with the tokens the target committed since the last call (a prefill chunk), then every node
 * of its tree is scored in the same pass, as the target verifies them.
 */
public final class DraftModel implements AutoCloseable {
    /** Cache memory the draft takes at most. */
    private static final long MAX_KV_BYTES = 256L << 20;
    /** Rows of one draft pass; a longer catch-up (a new prompt) is spread over several calls. */
    private static final int MAX_TOKENS = 256;
    private static final int BLOCK_SIZE = 16;

    private final CompiledModel model;
    private final PagedKvCache kv;
    private final BatchBuilder batches;
    private final int maxTokens;
    /** Positions the draft's rotary table covers: the target's sequence limit. */
    private final int maxPositions;
    private final AutoCloseable resources;
    private final Map<Long, Sequence> sequences = new HashMap<>();
    private final Map<Sequence, float[][]> scoring = new IdentityHashMap<>();

    private DraftModel(SpeculationTarget target, ModelConfig config, LoadedModel weights, int layers,
                       AutoCloseable resources) {
        this.resources = resources;
        this.maxTokens = MAX_TOKENS;
        this.maxPositions = target.maxModelLen();
        ModelConfig cut = config.withLayers(layers);
        this.model = CompiledModel.compile(target.backend(), cut, weights.weights().firstLayers(layers), List.of(),
                maxTokens, target.maxModelLen());
        long wanted = PagedKvCache.bytesPerToken(cut) * target.maxModelLen() * target.maxSequences();
        this.kv = PagedKvCache.allocate(target.backend(), cut, BLOCK_SIZE, Math.min(wanted, MAX_KV_BYTES));
        this.batches = new BatchBuilder(cut, kv, maxTokens);
    }

    /**
     * The target's first {@code layers} layers, then its final norm and lm_head.
     *
     * @throws IllegalArgumentException unless {@code 0 < layers < } the target's layers
     */
    public static DraftModel earlyExit(SpeculationTarget target, int layers) {
        int total = target.model().config().numLayers();
        if (layers <= 0 || layers >= total) {
            throw new IllegalArgumentException("layers:" + layers + " must draft with between 1 and "
                    + (total - 1) + " of the target's " + total + " layers");
        }
        return new DraftModel(target, target.model().config(), target.model(), layers, () -> {});
    }

    /**
     * A draft model folder, which must share the target's vocabulary.
     *
     * @throws FlexLlmException when its vocabulary differs from the target's
     */
    public static DraftModel load(SpeculationTarget target, Path folder) {
        LoadedModel draft = LoadedModel.open(folder.toString());
        try {
            checkVocabulary(target.model(), draft, folder);
            return new DraftModel(target, draft.config(), draft, draft.config().numLayers(), draft.resources());
        } catch (RuntimeException e) {
            draft.close();
            throw e;
        }
    }

    private static void checkVocabulary(LoadedModel target, LoadedModel draft, Path folder) {
        int size = target.config().vocabSize();
        if (draft.config().vocabSize() != size) {
            throw new FlexLlmException("draft model " + folder + " has a vocabulary of " + draft.config().vocabSize()
                    + " ids; the target's has " + size + ": a draft must share the target's vocabulary");
        }
        int checked = Math.min(size, target.tokenizer().vocabSize());
        for (int id = 0; id < checked; id++) {
            if (!target.tokenizer().token(id).equals(draft.tokenizer().token(id))) {
                throw new FlexLlmException("draft model " + folder + " maps id " + id + " to '"
                        + draft.tokenizer().token(id) + "' where the target has '" + target.tokenizer().token(id)
                        + "': a draft must share the target's vocabulary");
            }
        }
    }

    /** The draft's vocabulary size (the target's). */
    public int vocabSize() {
        return model.config().vocabSize();
    }

    /**
     * Scores the trees: {@code logits.get(i)[node]} receives the draft's logits at node {@code node} of
     * {@code trees.get(i)}, whose root is request {@code i}'s last token. A request whose tree does not fit the
     * pass, the draft's cache or the sequence limit gets none this call (its rows stay untouched, its new tokens are cached as far as
     * they fit); returns per request whether it was scored.
     */
    public boolean[] score(List<? extends Decoding> requests, List<DraftTree> trees, List<float[][]> logits) {
        scoring.clear();
        boolean[] scored = new boolean[requests.size()];
        List<ScheduledChunk> chunks = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < requests.size(); i++) {
            Sequence s = caughtUp(requests.get(i));
            int root = s.length() - 1;
            int catchUp = root - s.computed();
            DraftTree tree = trees.get(i);
            int rows = catchUp + tree.size();
            if (tokens + rows <= maxTokens && root + depth(tree) < maxPositions && reserve(s, root + tree.size())) {
                if (catchUp > 0) {
                    chunks.add(new ScheduledChunk(s, s.computed(), catchUp));
                }
                chunks.add(new ScheduledChunk(s, root, 1));
                scoring.put(s, logits.get(i));
                scored[i] = true;
                tokens += rows;
            } else if (catchUp > 0 && tokens < maxTokens && reserve(s, s.computed() + 1)) {
                int count = Math.min(catchUp, maxTokens - tokens);
                reserve(s, s.computed() + count);
                chunks.add(new ScheduledChunk(s, s.computed(), count));
                tokens += count;
            }
        }
        if (!chunks.isEmpty()) {
            runPass(requests, trees, chunks);
        }
        return scored;
    }

    private void runPass(List<? extends Decoding> requests, List<DraftTree> trees, List<ScheduledChunk> chunks) {
        Map<Sequence, DraftTree> treeOf = new IdentityHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            treeOf.put(sequences.get(requests.get(i).id()), trees.get(i));
        }
        var batch = batches.build(chunks, (s, p) -> false, treeOf::get, null, -1);
        model.forward(batch, kv, (row, values) -> {
            float[][] out = scoring.get(batches.rowSequence(row));
            System.arraycopy(values, 0, out[batches.rowNode(row)], 0, values.length);
        });
        for (ScheduledChunk c : chunks) {
            if (!c.isDecode()) {
                c.sequence().advance(c.count());
            }
        }
    }

    private static int depth(DraftTree tree) {
        int deepest = 0;
        for (int node = 0; node < tree.size(); node++) {
            deepest = Math.max(deepest, tree.depth(node));
        }
        return deepest;
    }

    /** The request's draft sequence, with the tokens the target committed since the last call appended. */
    private Sequence caughtUp(Decoding r) {
        Sequence s = sequences.get(r.id());
        if (s == null) {
            int[] tokens = new int[r.length()];
            for (int p = 0; p < tokens.length; p++) {
                tokens[p] = r.token(p);
            }
            s = new Sequence(r.id(), tokens, r.length());
            sequences.put(r.id(), s);
            return s;
        }
        for (int p = s.length(); p < r.length(); p++) {
            s.append(r.token(p));
        }
        return s;
    }

    /** Grows the sequence's blocks to hold {@code positions}, if the draft's cache has them free. */
    private boolean reserve(Sequence s, int positions) {
        if (s.blocks().missingFor(positions, kv.blockSize()) > kv.blocks().free()) {
            return false;
        }
        s.blocks().growTo(positions, kv.blockSize(), kv.blocks());
        return true;
    }

    /** The request ended: its draft cache goes back. */
    public void release(long requestId) {
        Sequence s = sequences.remove(requestId);
        if (s != null) {
            s.blocks().releaseAll(kv.blocks());
        }
    }

    @Override
    public void close() {
        sequences.values().forEach(s -> s.blocks().releaseAll(kv.blocks()));
        sequences.clear();
        try {
            resources.close();
        } catch (Exception e) {
            throw new FlexLlmException("closing the draft model failed", e);
        }
    }
}
