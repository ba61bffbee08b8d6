package org.flexllm.model;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * Binds the Hugging Face tensor names of a LLaMA-family checkpoint (a folder's, or a GGUF file's translated) to
 * {@link ModelWeights}, checking shapes.
 */
final class WeightBinder {
    private final ModelConfig config;
    private final TensorSource tensors;
    private long boundBytes;

    WeightBinder(ModelConfig config, TensorSource tensors) {
        this.config = config;
        this.tensors = tensors;
    }

    ModelWeights bind() {
        int vocab = config.vocabSize();
        int hidden = config.hiddenSize();
        Tensor embedTokens = tensor("model.embed_tokens.weight", vocab, hidden);
        // Grown layer by layer, not sized up front from num_hidden_layers: a corrupt count fails on the first
        // missing layer instead of allocating an array for billions.
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            layers.add(layer(i));
        }
        Tensor norm = tensor("model.norm.weight", hidden);
        Tensor lmHead = config.tieWordEmbeddings() ? embedTokens : tensor("lm_head.weight", vocab, hidden);
        return new ModelWeights(embedTokens, layers, norm, lmHead);
    }

    /** Bytes of every distinct tensor bound so far (a tied lm_head is not bound twice). */
    long boundBytes() {
        return boundBytes;
    }

    private LayerWeights layer(int i) {
        String prefix = "model.layers." + i + ".";
        int hidden = config.hiddenSize();
        int intermediate = config.intermediateSize();
        return new LayerWeights(
                tensor(prefix + "input_layernorm.weight", hidden),
                linear(prefix + "self_attn.q_proj", config.qDim(), hidden, config.qkvBias()),
                linear(prefix + "self_attn.k_proj", config.kvDim(), hidden, config.qkvBias()),
                linear(prefix + "self_attn.v_proj", config.kvDim(), hidden, config.qkvBias()),
                linear(prefix + "self_attn.o_proj", hidden, config.qDim(), config.oBias()),
                tensor(prefix + "post_attention_layernorm.weight", hidden),
                linear(prefix + "mlp.gate_proj", intermediate, hidden, config.mlpBias()),
                linear(prefix + "mlp.up_proj", intermediate, hidden, config.mlpBias()),
                linear(prefix + "mlp.down_proj", hidden, intermediate, config.mlpBias()));
    }

    private LinearWeights linear(String prefix, int out, int in, boolean hasBias) {
        Tensor weight = tensor(prefix + ".weight", out, in);
        return new LinearWeights(weight, hasBias ? tensor(prefix + ".bias", out) : null);
    }

    private Tensor tensor(String name, long... dims) {
        Tensor tensor = tensors.tensor(name, Shape.of(dims));
        boundBytes += tensor.data().byteSize();
        return tensor;
    }
}
