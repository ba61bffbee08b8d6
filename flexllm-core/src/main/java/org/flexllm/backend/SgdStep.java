package org.flexllm.backend;

/**
 * One step of {@code torch.optim.SGD} without dampening or Nesterov, for {@link Backend#sgdStep}:
 * {@code g' = g + weightDecay·p}; with momentum {@code buf = momentum·buf + g'} ({@code buf = g'} on the first
 * step) and {@code p -= lr·buf}, else {@code p -= lr·g'}.
 *
 * @param lr          the learning rate
 * @param momentum    0 for plain SGD, which has no buffer
 * @param weightDecay the L2 penalty added to the gradient (coupled, as SGD does it)
 * @param first       whether this is the optimizer's first step, on which the buffer starts as the gradient
 */
public record SgdStep(double lr, double momentum, double weightDecay, boolean first) {
    /** @throws IllegalArgumentException when a setting is negative or not finite */
    public SgdStep {
        StepSettings.nonNegative("lr", lr);
        StepSettings.nonNegative("momentum", momentum);
        StepSettings.nonNegative("weight_decay", weightDecay);
    }
}
