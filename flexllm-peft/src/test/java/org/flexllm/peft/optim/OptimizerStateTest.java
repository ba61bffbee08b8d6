package org.flexllm.peft.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.flexllm.backend.Backend;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.peft.Golden;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Optimizer behaviour over several steps, and checkpointing of its state. */
class OptimizerStateTest {
    private static final Backend CPU = new CpuBackend();
    private static final Function<List<Parameter>, Optimizer> MOMENTUM = p -> new Sgd(CPU, p, 0.9, 0.05);
    private static final Function<List<Parameter>, Optimizer> ADAMW = p -> new AdamW(CPU, p, 0.9, 0.999, 1e-8, 0.01);

    @Test
    void sgdMomentumOverTwoStepsMatchesAHandReference() {
        double momentum = 0.9;
        double decay = 0.05;
        double lr = 0.1;
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = randomParams(arena, 1);
            float[] w0 = Golden.floats(params.getFirst().value());
            float[] g1 = Golden.floats(params.getFirst().grad());
            Sgd sgd = new Sgd(CPU, params, momentum, decay);
            sgd.step(lr);
            float[] g2 = fillGrad(params.getFirst(), 2);
            sgd.step(lr);
            float[] got = Golden.floats(params.getFirst().value());
            for (int i = 0; i < w0.length; i++) {
                double buf = g1[i] + decay * w0[i];
                double w1 = w0[i] - lr * buf;
                buf = momentum * buf + g2[i] + decay * w1;
                double w2 = w1 - lr * buf;
                assertEquals(w2, got[i], 1e-6, "element " + i);
            }
            assertEquals(2, sgd.steps());
        }
    }

    /** Two steps, so that the second starts from the moments the first stored (PyTorch's AdamW, written out). */
    @Test
    void adamWOverTwoStepsMatchesAHandReference() {
        double beta1 = 0.9;
        double beta2 = 0.999;
        double eps = 1e-8;
        double weightDecay = 0.01;
        double lr = 0.1;
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = randomParams(arena, 1);
            float[] w0 = Golden.floats(params.getFirst().value());
            float[] g1 = Golden.floats(params.getFirst().grad());
            AdamW adamW = new AdamW(CPU, params, beta1, beta2, eps, weightDecay);
            adamW.step(lr);
            float[] g2 = fillGrad(params.getFirst(), 2);
            adamW.step(lr);
            float[] got = Golden.floats(params.getFirst().value());
            for (int i = 0; i < w0.length; i++) {
                double w = w0[i];
                double m = 0;
                double v = 0;
                float[][] grads = {g1, g2};
                for (int t = 1; t <= 2; t++) {
                    double g = grads[t - 1][i];
                    m = beta1 * m + (1 - beta1) * g;
                    v = beta2 * v + (1 - beta2) * g * g;
                    double mHat = m / (1 - Math.pow(beta1, t));
                    double vHat = v / (1 - Math.pow(beta2, t));
                    w = w * (1 - lr * weightDecay) - lr * mHat / (Math.sqrt(vHat) + eps);
                }
                assertEquals(w, got[i], 1e-5, "element " + i);
            }
            assertEquals(2, adamW.steps());
        }
    }

    @Test
    void sgdMomentumResumesExactlyFromItsState() {
        assertResumesExactly(MOMENTUM);
    }

    @Test
    void adamWResumesExactlyFromItsState() {
        assertResumesExactly(ADAMW);
    }

    @Test
    void stateIsNamedAfterTheParametersAndTorchsBuffers() {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = randomParams(arena, 1);
            assertEquals(List.of("p0.exp_avg", "p0.exp_avg_sq", "p1.exp_avg", "p1.exp_avg_sq"),
                    List.copyOf(ADAMW.apply(params).state(arena).keySet()));
            assertEquals(List.of("p0.momentum_buffer", "p1.momentum_buffer"),
                    List.copyOf(MOMENTUM.apply(params).state(arena).keySet()));
            assertTrue(new Sgd(CPU, params, 0, 0).state(arena).isEmpty(), "plain SGD has no state");
        }
    }

    @Test
    void loadRefusesStateOfOtherParameters() {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = randomParams(arena, 1);
            Map<String, Tensor> state = new LinkedHashMap<>(ADAMW.apply(params).state(arena));
            Optimizer target = ADAMW.apply(params);

            Map<String, Tensor> missing = new LinkedHashMap<>(state);
            missing.remove("p1.exp_avg");
            var e = assertThrows(OptimizerStateException.class, () -> target.load(missing, 1));
            assertTrue(e.getMessage().contains("p1.exp_avg"), e.getMessage());

            Map<String, Tensor> extra = new LinkedHashMap<>(state);
            extra.put("p2.exp_avg", state.get("p0.exp_avg"));
            assertThrows(OptimizerStateException.class, () -> target.load(extra, 1));

            Map<String, Tensor> reshaped = new LinkedHashMap<>(state);
            Tensor t = state.get("p0.exp_avg");
            reshaped.put("p0.exp_avg", new Tensor(t.name(), DType.F32, Shape.of(t.shape().elements()), t.data()));
            e = assertThrows(OptimizerStateException.class, () -> target.load(reshaped, 1));
            assertTrue(e.getMessage().contains("p0.exp_avg"), e.getMessage());
        }
    }

    @Test
    void rejectsOutOfRangeHyperparameters() {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = randomParams(arena, 1);
            var e = assertThrows(InvalidHyperparameterException.class, () -> new AdamW(CPU, params, 1, 0.999, 1e-8, 0));
            assertTrue(e.getMessage().contains("beta1 = 1.0"), e.getMessage());
            assertThrows(InvalidHyperparameterException.class, () -> new Sgd(CPU, params, -0.1, 0));
            assertThrows(InvalidHyperparameterException.class, () -> new Sgd(CPU, params, 0, 0).step(Double.NaN));
        }
    }

    /** Three steps straight, against two steps, a state export/import into a new optimizer, and a third step. */
    private static void assertResumesExactly(Function<List<Parameter>, Optimizer> factory) {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> straight = randomParams(arena, 3);
            List<Parameter> resumed = randomParams(arena, 3);
            Optimizer first = factory.apply(straight);
            Optimizer before = factory.apply(resumed);
            for (int step = 1; step <= 2; step++) {
                first.step(0.05);
                before.step(0.05);
                straight.forEach(p -> fillGrad(p, 10));
                resumed.forEach(p -> fillGrad(p, 10));
            }
            Optimizer after = factory.apply(resumed);
            after.load(before.state(arena), before.steps());
            assertEquals(2, after.steps());
            first.step(0.05);
            after.step(0.05);
            for (int i = 0; i < straight.size(); i++) {
                assertArrayEquals(Golden.floats(straight.get(i).value()), Golden.floats(resumed.get(i).value()));
            }
        }
    }

    /** Two parameters p0 [3, 5] and p1 [4], values and gradients drawn from {@code seed}. */
    private static List<Parameter> randomParams(Arena arena, long seed) {
        List<Parameter> params = List.of(param("p0", Shape.of(3, 5), arena), param("p1", Shape.of(4), arena));
        Random random = new Random(seed);
        for (Parameter p : params) {
            for (long i = 0; i < p.count(); i++) {
                p.value().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
            }
            fillGrad(p, seed);
        }
        return params;
    }

    private static float[] fillGrad(Parameter p, long seed) {
        Random random = new Random(seed * 31 + p.name().hashCode());
        for (long i = 0; i < p.count(); i++) {
            p.grad().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
        }
        return Golden.floats(p.grad());
    }

    private static Parameter param(String name, Shape shape, Arena arena) {
        MemorySegment value = arena.allocate(ValueLayout.JAVA_FLOAT, shape.elements());
        return new Parameter(name, shape, value, arena.allocate(ValueLayout.JAVA_FLOAT, shape.elements()));
    }
}
