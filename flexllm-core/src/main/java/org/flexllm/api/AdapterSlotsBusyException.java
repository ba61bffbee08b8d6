package org.flexllm.api;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/**
 * A finetuning job needs an adapter slot for the adapter it trains while every slot is pinned by running requests
 * or other jobs: it can be started again once one of them ends, or the host can be given more slots. (Requests
 * never see it: a request whose adapter is not resident waits in the queue for a slot.)
 */
public class AdapterSlotsBusyException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    public AdapterSlotsBusyException(String message) {
        super(message);
    }
}
