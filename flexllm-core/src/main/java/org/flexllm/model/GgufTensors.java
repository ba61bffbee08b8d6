package org.flexllm.model;

import java.lang.foreign.Arena;
import java.util.List;
import org.flexllm.io.GgufFile;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A GGUF file's tensors under their Hugging Face names and in HF's layout: names translated by {@link GgufNames},
 * a llama-layout file's q/k rows put back in HF's rotary order ({@link RotaryRows}), the rest views of the mapping.
 */
final class GgufTensors implements TensorSource {
    private final GgufFile file;
    private final ModelConfig config;
    private final boolean llamaRotaryLayout;
    private final Arena arena;

    /**
     * @param llamaRotaryLayout whether the file's q/k rows are in llama.cpp's llama order (its llama architecture;
     *                          its qwen2 keeps HF's order)
     */
    GgufTensors(GgufFile file, ModelConfig config, boolean llamaRotaryLayout, Arena arena) {
        this.file = file;
        this.config = config;
        this.llamaRotaryLayout = llamaRotaryLayout;
        this.arena = arena;
    }

    @Override
    public Tensor tensor(String name, Shape expected) {
        String ggufName = GgufNames.toGguf(name).orElseThrow(() -> new MissingTensorException(name, List.of(file.path())));
        Tensor t = file.get(ggufName).orElseThrow(() -> new MissingTensorException(ggufName, List.of(file.path())));
        if (!t.shape().equals(expected)) {
            throw new TensorShapeException(ggufName, expected, t.shape(), file.path());
        }
        if (llamaRotaryLayout && GgufNames.isQueryOrKey(name)) {
            int heads = GgufNames.isKey(name) ? config.numKvHeads() : config.numHeads();
            t = RotaryRows.toHuggingFace(t, heads, arena);
        }
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }
}
