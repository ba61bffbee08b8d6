package org.flexllm.cuda;

import org.flexllm.backend.BackendUnavailableException;

/** The {@code cuda} backend was asked for where it cannot run; {@link #problem()} says which check failed. */
public final class CudaUnavailableException extends BackendUnavailableException {
    private static final long serialVersionUID = 1L;

    private final CudaProblem problem;
    private final String reason;

    public CudaUnavailableException(CudaProblem problem, String reason) {
        super("the cuda backend cannot run here: " + reason);
        this.problem = problem;
        this.reason = reason;
    }

    public CudaProblem problem() {
        return problem;
    }

    /** What is missing, in words (the message without its preamble). */
    public String reason() {
        return reason;
    }
}
