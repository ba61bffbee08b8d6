package org.flexllm.engine;

import org.flexllm.FlexLlmException;

/** A request that cannot run even with the whole KV cache to itself. */
public final class KvCacheTooSmallException extends FlexLlmException {
    public KvCacheTooSmallException(String reason) {
        super(reason);
    }
}
