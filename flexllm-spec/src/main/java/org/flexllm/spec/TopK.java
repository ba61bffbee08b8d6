package org.flexllm.spec;

/** A model draft's proposals: the k most likely ids of a logits row with their softmax probabilities. */
final class TopK {
    private TopK() {}

    /** Writes the {@code k} most likely ids of {@code logits} into {@code out}, most likely first (ties: lower id). */
    static void of(float[] logits, int k, Proposals out) {
        out.clear();
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += StrictMath.exp(l - max);
        }
        for (int picked = 0; picked < Math.min(k, logits.length); picked++) {
            int best = -1;
            for (int id = 0; id < logits.length; id++) {
                if (!out.contains(id) && (best < 0 || logits[id] > logits[best])) {
                    best = id;
                }
            }
            double p = StrictMath.exp(logits[best] - max) / sum;
            if (p <= 0) {
                return;
            }
            out.add(best, Math.min(1, p));
        }
    }
}
