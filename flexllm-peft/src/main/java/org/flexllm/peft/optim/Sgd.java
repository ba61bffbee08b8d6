package org.flexllm.peft.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.flexllm.peft.Parameter;

/**
 * {@code torch.optim.SGD} without dampening or Nesterov: {@code g' = g + wd·p}; with momentum
 * {@code buf = momentum·buf + g'} ({@code buf = g'} on the first step) and {@code p -= lr·buf}, else
 * {@code p -= lr·g'}. Arithmetic in double per element, storage in f32.
 */
public final class Sgd extends BufferedOptimizer {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final double momentum;
    private final double weightDecay;

    /**
     * @param params      the parameters to train
     * @param momentum    0 for plain SGD
     * @param weightDecay L2 penalty added to the gradient (coupled, as SGD does it)
     * @throws InvalidHyperparameterException when a setting is negative or not finite
     */
    public Sgd(List<Parameter> params, double momentum, double weightDecay) {
        this.momentum = Hyperparameters.nonNegative("momentum", momentum);
        this.weightDecay = Hyperparameters.nonNegative("weight_decay", weightDecay);
        super(new StateBuffers(params, momentum == 0 ? List.of() : List.of("momentum_buffer")));
    }

    @Override
    public void step(double lr) {
        Hyperparameters.nonNegative("lr", lr);
        List<Parameter> params = state.params();
        for (int p = 0; p < params.size(); p++) {
            Parameter param = params.get(p);
            if (momentum == 0) {
                plainStep(param, lr);
            } else {
                momentumStep(param, state.get(p, 0), lr);
            }
        }
        state.countStep();
    }

    private void plainStep(Parameter param, double lr) {
        MemorySegment value = param.value();
        for (long i = 0; i < param.count(); i++) {
            double w = value.getAtIndex(F32, i);
            double g = param.grad().getAtIndex(F32, i) + weightDecay * w;
            value.setAtIndex(F32, i, (float) (w - lr * g));
        }
    }

    private void momentumStep(Parameter param, MemorySegment buffer, double lr) {
        MemorySegment value = param.value();
        for (long i = 0; i < param.count(); i++) {
            double w = value.getAtIndex(F32, i);
            double g = param.grad().getAtIndex(F32, i) + weightDecay * w;
            double b = state.steps() == 0 ? g : momentum * buffer.getAtIndex(F32, i) + g;
            buffer.setAtIndex(F32, i, (float) b);
            value.setAtIndex(F32, i, (float) (w - lr * b));
        }
    }
}
