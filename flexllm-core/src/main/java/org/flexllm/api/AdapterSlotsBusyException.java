package org.flexllm.api;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/**
 * A request names an adapter that is not resident while every resident slot is pinned by running requests: it
 * can be submitted again once one of them ends, or the host can be given more slots.
 */
public class AdapterSlotsBusyException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public AdapterSlotsBusyException(String message) {
        super(message);
    }
}
