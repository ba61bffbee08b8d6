package org.flexllm.peft.optim;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.flexllm.backend.Backend;
import org.flexllm.peft.Parameter;

/**
 * {@code torch.nn.utils.clip_grad_norm_} over all parameters together (the L2 norm), computed by the backend that
 * holds the gradients: only the norm comes back.
 */
public final class GradientClipping {
    /** torch adds it to the norm so that a tiny norm never divides by zero. */
    private static final double EPSILON = 1e-6;

    private GradientClipping() {}

    /**
     * Scales every gradient by {@code maxNorm / (norm + 1e-6)} when that is below 1, where {@code norm} is the
     * L2 norm of all gradients together, and returns that norm (before clipping). A norm that is not finite
     * (an overflow or a NaN in the backward pass) leaves the gradients as they are: the caller should skip the
     * step.
     *
     * @throws InvalidHyperparameterException when {@code maxNorm} is not positive and finite
     */
    public static double clipGlobalNorm(Backend backend, List<Parameter> params, double maxNorm) {
        Hyperparameters.positive("max_grad_norm", maxNorm);
        double norm = globalNorm(backend, params);
        double scale = maxNorm / (norm + EPSILON);
        if (Double.isFinite(norm) && scale < 1) {
            params.forEach(p -> backend.scale(p.grad(), p.count(), scale));
        }
        return norm;
    }

    /** The L2 norm of all gradients together, in the parameters' order, without clipping them. */
    public static double globalNorm(Backend backend, List<Parameter> params) {
        List<MemorySegment> grads = params.stream().map(Parameter::grad).toList();
        long[] counts = params.stream().mapToLong(Parameter::count).toArray();
        return Math.sqrt(backend.sumOfSquares(grads, counts));
    }
}
