package org.flexllm.backend;

/** Range checks of the optimizer steps' settings. */
final class StepSettings {
    private StepSettings() {}

    static void nonNegative(String name, double value) {
        if (!(value >= 0 && Double.isFinite(value))) {
            throw new IllegalArgumentException(name + " = " + value + ": must be finite and >= 0");
        }
    }

    /** A decay rate: in [0, 1). */
    static void rate(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " = " + value + ": must be in [0, 1)");
        }
    }
}
