package org.flexllm.model;

import java.io.Serial;
import java.nio.file.Path;
import java.util.List;

/** A model whose {@code model_type} or {@code architectures} names a family this library does not run. */
public class UnsupportedArchitectureException extends InvalidConfigException {
    @Serial
    private static final long serialVersionUID = 1L;

    public UnsupportedArchitectureException(Path file, String architecture, List<String> supported) {
        super(file, "architecture '" + architecture + "' is not supported; supported: "
                + String.join(", ", supported));
    }
}
