package org.flexllm.schedule;

/**
 * What one iteration computes, as the latency model sees it: the quantities its cost is made of on any machine.
 * A forward pass streams every weight once (a fixed cost), spends GEMM FLOPs per token (at a rate that differs
 * between decode, prefill and finetuning rows), and reads attention context per row; a finetuning window adds a
 * fixed cost (the loss's pass back through lm_head); a backward slice streams its layers' weights once and spends
 * FLOPs per layer-token.
 *
 * @param decodeTokens        tokens of running requests sampling their next token
 * @param prefillTokens       prompt tokens of prefill chunks
 * @param finetuneTokens      tokens of a finetuning sample's forward window
 * @param attentionContext    keys read by the attention of every forward row, summed (a row at position p reads
 *                            p + 1)
 * @param backwardLayers      layers of a backward slice
 * @param backwardLayerTokens layers of a backward slice times the rows it runs (its sample's tokens, or a chunk's)
 * @param treeTokens          speculative token-tree nodes verified beside their requests' decode tokens (a
 *                            decode row with a tree is still one decode token)
 */
public record Composition(int decodeTokens, int prefillTokens, int finetuneTokens, long attentionContext,
                          int backwardLayers, long backwardLayerTokens, int treeTokens) {
    public static final Composition EMPTY = new Composition(0, 0, 0, 0, 0, 0, 0);

    /** The latency model's features, in the order of {@link LinearLatencyModel.Coefficients}. */
    static final int FEATURES = 10;

    /** An iteration without speculation. */
    public Composition(int decodeTokens, int prefillTokens, int finetuneTokens, long attentionContext,
                       int backwardLayers, long backwardLayerTokens) {
        this(decodeTokens, prefillTokens, finetuneTokens, attentionContext, backwardLayers, backwardLayerTokens, 0);
    }

    /** Keys read by a chunk of {@code count} rows at positions {@code [start, start + count)}. */
    public static long context(int start, int count) {
        return (long) count * start + (long) count * (count + 1) / 2;
    }

    /** This iteration with {@code count} decode tokens more, reading {@code context} keys. */
    public Composition plusDecode(int count, long context) {
        return new Composition(decodeTokens + count, prefillTokens, finetuneTokens, attentionContext + context,
                backwardLayers, backwardLayerTokens, treeTokens);
    }

    /** This iteration with a prefill chunk of {@code count} tokens starting at position {@code start} more. */
    public Composition plusPrefill(int start, int count) {
        return new Composition(decodeTokens, prefillTokens + count, finetuneTokens,
                attentionContext + context(start, count), backwardLayers, backwardLayerTokens, treeTokens);
    }

    /** This iteration with a finetuning window of {@code count} tokens at positions from {@code start} more. */
    public Composition plusWindow(int start, int count) {
        return new Composition(decodeTokens, prefillTokens, finetuneTokens + count,
                attentionContext + context(start, count), backwardLayers, backwardLayerTokens, treeTokens);
    }

    /**
     * This iteration with a backward slice of {@code layers} layers of a sample of {@code length} tokens, or of
     * one layer's chunk of {@code length} rows.
     */
    public Composition withBackward(int layers, int length) {
        return new Composition(decodeTokens, prefillTokens, finetuneTokens, attentionContext, layers,
                (long) layers * length, treeTokens);
    }

    /** This iteration with {@code count} tree nodes more, reading {@code context} keys. */
    public Composition plusTree(int count, long context) {
        return new Composition(decodeTokens, prefillTokens, finetuneTokens, attentionContext + context,
                backwardLayers, backwardLayerTokens, treeTokens + count);
    }

    /** Tokens of the iteration's forward pass. */
    public int forwardTokens() {
        return decodeTokens + prefillTokens + finetuneTokens + treeTokens;
    }

    public boolean isEmpty() {
        return forwardTokens() == 0 && backwardLayers == 0;
    }

    /**
     * Writes the features into {@code x}: the iteration itself, a forward pass (every weight streamed once),
     * decode, prefill and finetuning tokens (their GEMM FLOPs), attention context, a finetuning window (its fixed
     * cost), the backward slice's layers (their weights streamed) and layer-tokens (its FLOPs), and tree tokens
     * (their GEMM FLOPs, batched with the decodes they extend).
     */
    void features(double[] x) {
        x[0] = 1;
        x[1] = forwardTokens() > 0 ? 1 : 0;
        x[2] = decodeTokens;
        x[3] = prefillTokens;
        x[4] = finetuneTokens;
        x[5] = attentionContext;
        x[6] = finetuneTokens > 0 ? 1 : 0;
        x[7] = backwardLayers;
        x[8] = backwardLayerTokens;
        x[9] = treeTokens;
    }
}
