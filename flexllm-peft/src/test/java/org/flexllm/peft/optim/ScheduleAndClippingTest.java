package org.flexllm.peft.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.flexllm.backend.Backend;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.peft.Golden;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.Shape;
import org.junit.jupiter.api.Test;

class ScheduleAndClippingTest {
    private static final Backend CPU = new CpuBackend();

    @Test
    void warmUpRisesLinearlyFromZeroAsHuggingFacesLambdaLr() {
        LrSchedule schedule = LrSchedule.linear(1e-3, 10, 110);
        assertEquals(0, schedule.lr(0));
        assertEquals(5e-4, schedule.lr(5), 1e-15);
        assertEquals(1e-3, schedule.lr(10), 1e-15);
        assertEquals(5e-4, schedule.lr(60), 1e-15);
        assertEquals(0, schedule.lr(110));
        assertEquals(0, schedule.lr(500), "stays at 0 past the end");
    }

    @Test
    void cosineFallsAlongHalfACosine() {
        LrSchedule schedule = LrSchedule.cosine(2, 0, 100);
        assertEquals(2, schedule.lr(0));
        assertEquals(1, schedule.lr(50), 1e-12);
        assertEquals(2 * 0.5 * (1 + Math.cos(Math.PI / 4)), schedule.lr(25), 1e-12);
        assertEquals(0, schedule.lr(100), 1e-12);
    }

    @Test
    void constantHoldsThePeak() {
        assertEquals(3e-4, LrSchedule.constant(3e-4).lr(12345));
        assertEquals(1.5e-4, LrSchedule.constantWithWarmup(3e-4, 4).lr(2), 1e-18);
        assertThrows(InvalidHyperparameterException.class, () -> LrSchedule.linear(1e-3, 10, 5));
        assertThrows(InvalidHyperparameterException.class, () -> LrSchedule.constant(-1));
    }

    @Test
    void clippingScalesAllGradientsTogetherToTheMaxNorm() {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = List.of(param(arena, 3, 4), param(arena, 12));
            assertEquals(13, GradientClipping.clipGlobalNorm(CPU, params, 1), 1e-9, "sqrt(3² + 4² + 12²)");
            assertEquals(1, norm(params), 1e-6);
            assertEquals(3 / 13.0, params.getFirst().grad().getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-6);
        }
    }

    @Test
    void clippingLeavesSmallGradientsAlone() {
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = List.of(param(arena, 0.3f, 0.4f));
            assertEquals(0.5, GradientClipping.clipGlobalNorm(CPU, params, 1), 1e-7);
            assertEquals(0.3f, params.getFirst().grad().getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertThrows(InvalidHyperparameterException.class, () -> GradientClipping.clipGlobalNorm(CPU, params, 0));
        }
    }

    private static double norm(List<Parameter> params) {
        double sum = 0;
        for (Parameter p : params) {
            for (float g : Golden.floats(p.grad())) {
                sum += g * g;
            }
        }
        return Math.sqrt(sum);
    }

    private static Parameter param(Arena arena, float... grad) {
        Shape shape = Shape.of(grad.length);
        return new Parameter("p" + grad.length, shape, arena.allocate(ValueLayout.JAVA_FLOAT, grad.length),
                arena.allocateFrom(ValueLayout.JAVA_FLOAT, grad));
    }
}
