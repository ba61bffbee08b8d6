package org.flexllm.schedule;

/**
 * What one iteration computes, as the latency model sees it.
 *
 * @param decodeTokens        tokens of running requests sampling their next token
 * @param decodeContext       the decode tokens' context lengths, summed (what their attention reads)
 * @param prefillTokens       prompt tokens of prefill chunks
 * @param finetuneTokens      tokens of a finetuning sample's forward window
 * @param backwardLayerTokens layers of a backward slice times the tokens of its sample
 */
public record Composition(int decodeTokens, long decodeContext, int prefillTokens, int finetuneTokens,
                          long backwardLayerTokens) {
    public static final Composition EMPTY = new Composition(0, 0, 0, 0, 0);

    public Composition withFinetune(int tokens) {
        return new Composition(decodeTokens, decodeContext, prefillTokens, tokens, backwardLayerTokens);
    }

    public Composition withBackward(long layerTokens) {
        return new Composition(decodeTokens, decodeContext, prefillTokens, finetuneTokens, layerTokens);
    }

    /** Tokens of the iteration's forward pass. */
    public int forwardTokens() {
        return decodeTokens + prefillTokens + finetuneTokens;
    }

    public boolean isEmpty() {
        return forwardTokens() == 0 && backwardLayerTokens == 0;
    }

    /**
     * The latency model's features: a constant, the decode tokens and their context, the prefill tokens, whether
     * there is a finetuning window (its fixed cost: the loss's pass back through lm_head and the final norm),
     * its tokens, and the backward layer-tokens.
     */
    double[] features() {
        return new double[] {1, decodeTokens, decodeContext, prefillTokens, finetuneTokens > 0 ? 1 : 0,
                finetuneTokens, backwardLayerTokens};
    }
}
