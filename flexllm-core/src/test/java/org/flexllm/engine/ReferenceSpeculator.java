package org.flexllm.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.Speculator;
import org.flexllm.speculation.TreeRound;
import org.flexllm.speculation.Verdict;

/**
 * A test speculator: drafts from known greedy continuations, a wrong sibling before every right token (so that
 * the accepted path is never the first nodes and the cache must be compacted) and, every third step, a wrong
 * token where the right one belongs (so that verification rejects); verifies by walking the target's argmax.
 */
final class ReferenceSpeculator implements Speculator {
    private final List<int[]> references;
    private final int depth;
    private final int vocab;
    final AtomicInteger drafted = new AtomicInteger();
    final AtomicInteger overBudget = new AtomicInteger();

    /** @param references whole sequences (prompt and greedy continuation) the requests will produce */
    ReferenceSpeculator(List<int[]> references, int depth, int vocab) {
        this.references = List.copyOf(references);
        this.depth = depth;
        this.vocab = vocab;
    }

    @Override
    public void draft(TreeRound round) {
        int left = round.budget();
        for (int i = 0; i < round.size() && left > 0; i++) {
            Decoding r = round.request(i);
            int[] next = continuation(r);
            int levels = Math.min(Math.min(depth, next.length), left / 2);
            if (levels == 0) {
                continue;
            }
            DraftTree tree = tree(r.token(r.length() - 1), next, levels, r.generated() % 3 == 2);
            left -= tree.size() - 1;
            drafted.addAndGet(tree.size() - 1);
            round.propose(i, tree);
        }
        if (left < 0) {
            overBudget.incrementAndGet();
        }
    }

    private int[] continuation(Decoding r) {
        for (int[] reference : references) {
            if (reference.length > r.length() && startsWith(reference, r)) {
                return Arrays.copyOfRange(reference, r.length(), reference.length);
            }
        }
        return new int[0];
    }

    private static boolean startsWith(int[] reference, Decoding r) {
        for (int p = 0; p < r.length(); p++) {
            if (reference[p] != r.token(p)) {
                return false;
            }
        }
        return true;
    }

    /** Per level, a wrong sibling then the right token (or a second wrong one at level 2 when {@code miss}). */
    private DraftTree tree(int root, int[] next, int levels, boolean miss) {
        List<Integer> tokens = new ArrayList<>(List.of(root));
        List<Integer> parents = new ArrayList<>(List.of(-1));
        int parent = 0;
        for (int level = 0; level < levels; level++) {
            int right = miss && level == 1 ? wrong(next[level], 2) : next[level];
            tokens.add(wrong(next[level], 1));
            parents.add(parent);
            tokens.add(right);
            parents.add(parent);
            parent = tokens.size() - 1;
        }
        return new DraftTree(tokens.stream().mapToInt(Integer::intValue).toArray(),
                parents.stream().mapToInt(Integer::intValue).toArray());
    }

    private int wrong(int token, int offset) {
        return (token + offset) % vocab;
    }

    @Override
    public Verdict verify(Decoding request, DraftTree tree, float[][] logits) {
        List<Integer> path = new ArrayList<>();
        int node = 0;
        while (true) {
            int best = argmax(logits[node]);
            int child = child(tree, node, best);
            if (child < 0) {
                return new Verdict(path.stream().mapToInt(Integer::intValue).toArray(), best);
            }
            path.add(child);
            node = child;
        }
    }

    private static int child(DraftTree tree, int parent, int token) {
        for (int i = parent + 1; i < tree.size(); i++) {
            if (tree.parent(i) == parent && tree.token(i) == token) {
                return i;
            }
        }
        return -1;
    }

    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
