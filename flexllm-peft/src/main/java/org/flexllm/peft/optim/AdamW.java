package org.flexllm.peft.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.flexllm.peft.Parameter;

/**
 * {@code torch.optim.AdamW} (no amsgrad): at step t, {@code p *= 1 - lr·wd} (decoupled decay), then
 * {@code m = β1·m + (1-β1)·g}, {@code v = β2·v + (1-β2)·g²} and
 * {@code p -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + eps)}. The moments are stored in f32; each element's
 * update is computed in double from them.
 */
public final class AdamW extends BufferedOptimizer {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int EXP_AVG = 0;
    private static final int EXP_AVG_SQ = 1;

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;

    /**
     * @param params      the parameters to train
     * @param beta1       decay of the first moment, in [0, 1) (torch: 0.9)
     * @param beta2       decay of the second moment, in [0, 1) (torch: 0.999)
     * @param eps         added to the denominator (torch: 1e-8)
     * @param weightDecay decoupled weight decay (torch: 0.01)
     * @throws InvalidHyperparameterException when a setting is out of range
     */
    public AdamW(List<Parameter> params, double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = Hyperparameters.rate("beta1", beta1);
        this.beta2 = Hyperparameters.rate("beta2", beta2);
        this.eps = Hyperparameters.nonNegative("eps", eps);
        this.weightDecay = Hyperparameters.nonNegative("weight_decay", weightDecay);
        super(new StateBuffers(params, List.of("exp_avg", "exp_avg_sq")));
    }

    @Override
    public void step(double lr) {
        Hyperparameters.nonNegative("lr", lr);
        long t = state.steps() + 1;
        double stepSize = lr / (1 - StrictMath.pow(beta1, t));
        double rootCorrection2 = Math.sqrt(1 - StrictMath.pow(beta2, t));
        double decay = 1 - lr * weightDecay;
        List<Parameter> params = state.params();
        for (int p = 0; p < params.size(); p++) {
            update(params.get(p), state.get(p, EXP_AVG), state.get(p, EXP_AVG_SQ), decay, stepSize, rootCorrection2);
        }
        state.countStep();
    }

    private void update(Parameter param, MemorySegment expAvg, MemorySegment expAvgSq, double decay,
            double stepSize, double rootCorrection2) {
        MemorySegment value = param.value();
        for (long i = 0; i < param.count(); i++) {
            double g = param.grad().getAtIndex(F32, i);
            double m = beta1 * expAvg.getAtIndex(F32, i) + (1 - beta1) * g;
            double v = beta2 * expAvgSq.getAtIndex(F32, i) + (1 - beta2) * g * g;
            expAvg.setAtIndex(F32, i, (float) m);
            expAvgSq.setAtIndex(F32, i, (float) v);
            double w = value.getAtIndex(F32, i) * decay;
            value.setAtIndex(F32, i, (float) (w - stepSize * m / (Math.sqrt(v) / rootCorrection2 + eps)));
        }
    }
}
