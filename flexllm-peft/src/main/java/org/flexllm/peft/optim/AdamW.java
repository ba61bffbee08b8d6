package org.flexllm.peft.optim;

import java.util.List;
import org.flexllm.backend.AdamWStep;
import org.flexllm.backend.Backend;
import org.flexllm.peft.Parameter;

/**
 * {@code torch.optim.AdamW} (no amsgrad): at step t, {@code p *= 1 - lr·wd} (decoupled decay), then
 * {@code m = β1·m + (1-β1)·g}, {@code v = β2·v + (1-β2)·g²} and
 * {@code p -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + eps)}. The moments are stored in f32; each element's
 * update is computed in double from them.
 */
public final class AdamW extends BufferedOptimizer {
    private static final int EXP_AVG = 0;
    private static final int EXP_AVG_SQ = 1;

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;

    /**
     * @param backend     where the parameters are, which updates them
     * @param params      the parameters to train
     * @param beta1       decay of the first moment, in [0, 1) (torch: 0.9)
     * @param beta2       decay of the second moment, in [0, 1) (torch: 0.999)
     * @param eps         added to the denominator (torch: 1e-8)
     * @param weightDecay decoupled weight decay (torch: 0.01)
     * @throws InvalidHyperparameterException when a setting is out of range
     */
    public AdamW(Backend backend, List<Parameter> params, double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = Hyperparameters.rate("beta1", beta1);
        this.beta2 = Hyperparameters.rate("beta2", beta2);
        this.eps = Hyperparameters.nonNegative("eps", eps);
        this.weightDecay = Hyperparameters.nonNegative("weight_decay", weightDecay);
        super(new StateBuffers(backend, params, List.of("exp_avg", "exp_avg_sq")));
    }

    @Override
    public void step(double lr) {
        Hyperparameters.nonNegative("lr", lr);
        AdamWStep step = new AdamWStep(lr, beta1, beta2, eps, weightDecay, state.steps() + 1);
        List<Parameter> params = state.params();
        for (int p = 0; p < params.size(); p++) {
            Parameter param = params.get(p);
            state.backend().adamWStep(param.value(), param.grad(), state.get(p, EXP_AVG), state.get(p, EXP_AVG_SQ),
                    param.count(), step);
        }
        state.countStep();
    }
}
