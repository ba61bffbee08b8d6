package org.flexllm.model;

import java.io.Serial;
import java.nio.file.Path;
import java.util.List;

/** A tensor the config calls for that none of the checkpoint's weight files holds. */
public class MissingTensorException extends InvalidCheckpointException {
    @Serial
    private static final long serialVersionUID = 1L;

    public MissingTensorException(String tensor, List<Path> searched) {
        super("no tensor '" + tensor + "' in " + searched
                + "; the weight files do not match config.json (wrong folder, or an incomplete download?)");
    }
}
