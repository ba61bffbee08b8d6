package org.flexllm.model;

import java.util.List;
import java.util.function.UnaryOperator;
import org.flexllm.tensor.Tensor;

/**
 * All parameters of a decoder, bound to the config's shapes.
 *
 * @param embedTokens {@code [V, H]}
 * @param layers      one per decoder layer
 * @param norm        the final RMSNorm weight {@code [H]}
 * @param lmHead      {@code [V, H]}; the same tensor as {@code embedTokens} when embeddings are tied
 */
public record ModelWeights(Tensor embedTokens, List<LayerWeights> layers, Tensor norm, Tensor lmHead) {
    public ModelWeights {
        layers = List.copyOf(layers);
    }

    /** The same weights with every tensor passed through {@code f} (tied tensors stay shared). */
    public ModelWeights map(UnaryOperator<Tensor> f) {
        Tensor embed = f.apply(embedTokens);
        Tensor head = lmHead == embedTokens ? embed : f.apply(lmHead);
        return new ModelWeights(embed, layers.stream().map(l -> l.map(f)).toList(), f.apply(norm), head);
    }

    /** The first {@code count} layers, with the same embeddings, final norm and lm_head. */
    public ModelWeights firstLayers(int count) {
        return new ModelWeights(embedTokens, layers.subList(0, count), norm, lmHead);
    }
}
