package org.flexllm.peft.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.flexllm.peft.Parameter;

/** {@code torch.nn.utils.clip_grad_norm_} over all parameters together (the L2 norm). */
public final class GradientClipping {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
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
    public static double clipGlobalNorm(List<Parameter> params, double maxNorm) {
        Hyperparameters.positive("max_grad_norm", maxNorm);
        double norm = globalNorm(params);
        double scale = maxNorm / (norm + EPSILON);
        if (Double.isFinite(norm) && scale < 1) {
            params.forEach(p -> scale(p.grad(), p.count(), scale));
        }
        return norm;
    }

    /** The L2 norm of all gradients together, without clipping them. */
    public static double globalNorm(List<Parameter> params) {
        return Math.sqrt(params.stream().mapToDouble(GradientClipping::sumOfSquares).sum());
    }

    private static double sumOfSquares(Parameter p) {
        double sum = 0;
        for (long i = 0; i < p.count(); i++) {
            double g = p.grad().getAtIndex(F32, i);
            sum += g * g;
        }
        return sum;
    }

    private static void scale(MemorySegment grad, long count, double factor) {
        for (long i = 0; i < count; i++) {
            grad.setAtIndex(F32, i, (float) (grad.getAtIndex(F32, i) * factor));
        }
    }
}
