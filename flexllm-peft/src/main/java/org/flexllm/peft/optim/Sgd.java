package org.flexllm.peft.optim;

import java.util.List;
import org.flexllm.backend.Backend;
import org.flexllm.backend.SgdStep;
import org.flexllm.peft.Parameter;

/**
 * {@code torch.optim.SGD} without dampening or Nesterov: {@code g' = g + wd·p}; with momentum
 * {@code buf = momentum·buf + g'} ({@code buf = g'} on the first step) and {@code p -= lr·buf}, else
 * {@code p -= lr·g'}. Arithmetic in double per element, storage in f32.
 */
public final class Sgd extends BufferedOptimizer {
    private final double momentum;
    private final double weightDecay;

    /**
     * @param backend     where the parameters are, which updates them
     * @param params      the parameters to train
     * @param momentum    0 for plain SGD
     * @param weightDecay L2 penalty added to the gradient (coupled, as SGD does it)
     * @throws InvalidHyperparameterException when a setting is negative or not finite
     */
    public Sgd(Backend backend, List<Parameter> params, double momentum, double weightDecay) {
        this.momentum = Hyperparameters.nonNegative("momentum", momentum);
        this.weightDecay = Hyperparameters.nonNegative("weight_decay", weightDecay);
        super(new StateBuffers(backend, params, momentum == 0 ? List.of() : List.of("momentum_buffer")));
    }

    @Override
    public void step(double lr) {
        Hyperparameters.nonNegative("lr", lr);
        SgdStep step = new SgdStep(lr, momentum, weightDecay, state.steps() == 0);
        List<Parameter> params = state.params();
        for (int p = 0; p < params.size(); p++) {
            Parameter param = params.get(p);
            state.backend().sgdStep(param.value(), param.grad(), momentum == 0 ? null : state.get(p, 0),
                    param.count(), step);
        }
        state.countStep();
    }
}
