package org.flexllm.peft.format;

import java.io.Serial;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;

/**
 * An adapter folder that cannot be read or replaced as a whole: its weights file is missing or in a format we
 * do not read, or a write would delete files that are not the adapter's. The message names the folder.
 */
public class AdapterFolderException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public AdapterFolderException(Path folder, String problem) {
        super(folder + ": " + problem);
    }
}
