package org.flexllm.model;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.tensor.Shape;

/** A checkpoint tensor whose shape differs from the one its {@code config.json} implies. */
public class TensorShapeException extends InvalidCheckpointException {
    @Serial
    private static final long serialVersionUID = 1L;

    public TensorShapeException(String tensor, Shape expected, Shape actual, Path file) {
        super("tensor '" + tensor + "' in " + file + " has shape " + actual + " but config.json implies "
                + expected + "; the weights and config.json belong to different models");
    }
}
