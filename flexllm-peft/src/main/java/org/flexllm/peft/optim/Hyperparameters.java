package org.flexllm.peft.optim;

/** Range checks shared by the optimizers, the schedules and clipping. */
final class Hyperparameters {
    private Hyperparameters() {}

    static double nonNegative(String name, double value) {
        if (!(value >= 0 && Double.isFinite(value))) {
            throw new InvalidHyperparameterException(name, value, "finite and >= 0");
        }
        return value;
    }

    static double positive(String name, double value) {
        if (!(value > 0 && Double.isFinite(value))) {
            throw new InvalidHyperparameterException(name, value, "finite and > 0");
        }
        return value;
    }

    /** A decay rate: in [0, 1). */
    static double rate(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new InvalidHyperparameterException(name, value, "in [0, 1)");
        }
        return value;
    }
}
