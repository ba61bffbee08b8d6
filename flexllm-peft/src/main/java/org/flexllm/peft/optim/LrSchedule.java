package org.flexllm.peft.optim;

/**
 * A learning rate per optimizer step, as Hugging Face's schedulers give it: a linear warm-up from 0 over
 * {@code warmupSteps}, then the peak held ({@link Decay#CONSTANT}), or decayed to 0 at {@code totalSteps}
 * linearly ({@link Decay#LINEAR}) or along half a cosine ({@link Decay#COSINE}).
 *
 * @param decay       what follows the warm-up
 * @param peak        the rate after the warm-up
 * @param warmupSteps steps of linear warm-up (0 for none)
 * @param totalSteps  the step at which a decay reaches 0 (ignored by {@code CONSTANT})
 */
public record LrSchedule(Decay decay, double peak, long warmupSteps, long totalSteps) {
    /** What the rate does after the warm-up. */
    public enum Decay { CONSTANT, LINEAR, COSINE }

    /**
     * @throws InvalidHyperparameterException when the peak is negative, a step count negative, or a decay ends
     *                                        before its warm-up does
     */
    public LrSchedule {
        Hyperparameters.nonNegative("lr", peak);
        Hyperparameters.nonNegative("warmup_steps", warmupSteps);
        if (decay != Decay.CONSTANT && totalSteps < warmupSteps) {
            throw new InvalidHyperparameterException("total_steps", totalSteps,
                    ">= warmup_steps (" + warmupSteps + ") for a " + decay + " decay");
        }
    }

    /** The same rate at every step. */
    public static LrSchedule constant(double lr) {
        return new LrSchedule(Decay.CONSTANT, lr, 0, 0);
    }

    /** Warm-up, then constant ({@code get_constant_schedule_with_warmup}). */
    public static LrSchedule constantWithWarmup(double peak, long warmupSteps) {
        return new LrSchedule(Decay.CONSTANT, peak, warmupSteps, 0);
    }

    /** Warm-up, then linear decay to 0 at {@code totalSteps} ({@code get_linear_schedule_with_warmup}). */
    public static LrSchedule linear(double peak, long warmupSteps, long totalSteps) {
        return new LrSchedule(Decay.LINEAR, peak, warmupSteps, totalSteps);
    }

    /** Warm-up, then half a cosine down to 0 at {@code totalSteps} ({@code get_cosine_schedule_with_warmup}). */
    public static LrSchedule cosine(double peak, long warmupSteps, long totalSteps) {
        return new LrSchedule(Decay.COSINE, peak, warmupSteps, totalSteps);
    }

    /**
     * The rate for the step taken after {@code step} steps (the first step is step 0, so a warm-up starts at
     * rate 0, as Hugging Face's LambdaLR does). Past {@code totalSteps} a decay stays at 0.
     */
    public double lr(long step) {
        if (step < warmupSteps) {
            return peak * step / warmupSteps;
        }
        double progress = Math.min(1, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
        return switch (decay) {
            case CONSTANT -> peak;
            case LINEAR -> peak * (1 - progress);
            case COSINE -> peak * 0.5 * (1 + StrictMath.cos(Math.PI * progress));
        };
    }
}
