package org.flexllm.spec;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A stand-in language model over a small vocabulary: the logits after a token sequence are normal random
 * numbers seeded by the sequence, so the same context always gets the same row. Two instances with other seeds
 * play target and draft.
 */
record ToyModel(int vocab, long seed, double spread) {
    /** The logits of the token after {@code tokens[0..length)}. */
    float[] logits(int[] tokens, int length) {
        long h = seed;
        for (int i = 0; i < length; i++) {
            h = h * 1_000_003L + tokens[i] + 1;
        }
        SplittableRandom random = new SplittableRandom(h);
        float[] row = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            row[i] = (float) (random.nextGaussian() * spread);
        }
        return row;
    }

    /** Softmax of {@link #logits}, in double. */
    double[] probabilities(int[] tokens, int length) {
        float[] row = logits(tokens, length);
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp(row[i]);
            sum += p[i];
        }
        for (int i = 0; i < vocab; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** This model as a drafter: its k most likely tokens with their softmax probabilities. */
    Drafter drafter() {
        return (tokens, length, k, out) -> {
            double[] p = probabilities(tokens, length);
            Integer[] order = new Integer[vocab];
            Arrays.setAll(order, i -> i);
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            out.clear();
            for (int i = 0; i < Math.min(k, vocab); i++) {
                out.add(order[i], p[order[i]]);
            }
        };
    }

    /** The logits of every node of {@code tree} grown from {@code context}: row i is the row after node i. */
    float[][] treeLogits(TokenTree tree, int[] context) {
        float[][] rows = new float[tree.size()][];
        int[] sequence = Arrays.copyOf(context, context.length + tree.size());
        for (int node = 0; node < tree.size(); node++) {
            int[] path = tree.path(node);
            for (int i = 1; i < path.length; i++) {
                sequence[context.length + i - 1] = tree.token(path[i]);
            }
            rows[node] = logits(sequence, context.length + path.length - 1);
        }
        return rows;
    }
}
