package org.flexllm.model;

import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/** Where {@link WeightBinder} finds a checkpoint's tensors, by their Hugging Face names. */
interface TensorSource {
    /**
     * The tensor Hugging Face calls {@code name}, in HF's layout, which must have the shape the config implies.
     *
     * @throws MissingTensorException when the checkpoint has no such tensor
     * @throws TensorShapeException   when its shape differs
     */
    Tensor tensor(String name, Shape expected);
}
