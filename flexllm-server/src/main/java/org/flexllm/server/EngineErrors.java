package org.flexllm.server;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.flexllm.api.AdapterSlotsBusyException;
import org.flexllm.api.UnknownAdapterException;
import org.flexllm.engine.KvCacheTooSmallException;
import org.flexllm.engine.PromptTooLongException;
import org.flexllm.sampling.InvalidSamplingParamsException;

/** How the engine's exceptions read over HTTP. */
public final class EngineErrors {
    private EngineErrors() {}

    /** The API error for what {@code submit} threw or a request's future failed with. */
    public static ApiError map(Throwable error) {
        Throwable e = unwrap(error);
        return switch (e) {
            case ApiError api -> api;
            case PromptTooLongException tooLong -> ApiError.badRequest(tooLong.getMessage(), "prompt");
            case KvCacheTooSmallException kv -> ApiError.badRequest(kv.getMessage(), "prompt");
            case UnknownAdapterException unknown -> ApiError.notFound(unknown.getMessage(), "model", "model_not_found");
            case AdapterSlotsBusyException busy -> ApiError.tooManyRequests(busy.getMessage(), 1);
            case InvalidSamplingParamsException invalid -> ApiError.badRequest(invalid.getMessage(), null);
            case IllegalArgumentException invalid -> ApiError.badRequest(invalid.getMessage(), null);
            case CancellationException cancelled -> ApiError.unavailable("the request was cancelled: "
                    + cancelled.getMessage());
            case IllegalStateException closed -> ApiError.unavailable(closed.getMessage());
            default -> ApiError.internal("generation failed: " + e);
        };
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
