package org.flexllm.backend;

/**
 * Step {@code step} (from 1) of {@code torch.optim.AdamW} without amsgrad, for {@link Backend#adamWStep}:
 * {@code p *= 1 − lr·weightDecay} (decoupled decay), then {@code m = β1·m + (1−β1)·g},
 * {@code v = β2·v + (1−β2)·g²} and {@code p −= lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + eps)}.
 *
 * @param lr          the learning rate
 * @param beta1       decay of the first moment, in [0, 1)
 * @param beta2       decay of the second moment, in [0, 1)
 * @param eps         added to the denominator
 * @param weightDecay the decoupled weight decay
 * @param step        the step's number {@code t}, counted from 1, for the bias corrections
 */
public record AdamWStep(double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
    /** @throws IllegalArgumentException when a setting is out of its range */
    public AdamWStep {
        StepSettings.nonNegative("lr", lr);
        StepSettings.rate("beta1", beta1);
        StepSettings.rate("beta2", beta2);
        StepSettings.nonNegative("eps", eps);
        StepSettings.nonNegative("weight_decay", weightDecay);
        if (step < 1) {
            throw new IllegalArgumentException("AdamW step = " + step + ": steps count from 1");
        }
    }

    /** {@code lr / (1 − β1^t)}: the learning rate with the first moment's bias correction folded in. */
    public double stepSize() {
        return lr / (1 - StrictMath.pow(beta1, step));
    }

    /** {@code √(1 − β2^t)}: the square root of the second moment's bias correction. */
    public double rootCorrection2() {
        return Math.sqrt(1 - StrictMath.pow(beta2, step));
    }

    /** {@code 1 − lr·weightDecay}: what the decoupled decay multiplies each parameter by. */
    public double decay() {
        return 1 - lr * weightDecay;
    }
}
