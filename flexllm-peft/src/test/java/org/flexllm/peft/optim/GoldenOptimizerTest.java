package org.flexllm.peft.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.flexllm.backend.Backend;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.peft.Golden;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** One optimizer step on each golden LoRA adapter and its gradients, against the float64 reference. */
class GoldenOptimizerTest {
    private static final Backend CPU = new CpuBackend();

    static List<Path> loraCases() {
        return Golden.loraCases();
    }

    @ParameterizedTest
    @MethodSource("loraCases")
    void sgdStepMatchesTheReference(Path goldenCase) {
        check(goldenCase, "after_sgd.safetensors", 0.1, params -> new Sgd(CPU, params, 0, 0), g -> 1e-6);
    }

    /** README "Precision and tolerances": entries whose |g| is near eps are sensitive to the f32 gradient. */
    @ParameterizedTest
    @MethodSource("loraCases")
    void adamWStepMatchesTheReference(Path goldenCase) {
        check(goldenCase, "after_adamw.safetensors", 1e-2, params -> new AdamW(CPU, params, 0.9, 0.999, 1e-8, 0.01),
                g -> Math.abs(g) >= 1e-5 ? 1e-6 : 1e-4);
    }

    private static void check(Path goldenCase, String expectedFile, double lr,
            Function<List<Parameter>, Optimizer> optimizer, Function<Float, Double> tolerance) {
        Path lora = goldenCase.resolve("lora");
        try (Arena arena = Arena.ofConfined()) {
            List<Parameter> params = Golden.parameters(lora.resolve("adapter_model.safetensors"),
                    lora.resolve("grads.safetensors"), arena);
            Optimizer opt = optimizer.apply(params);
            opt.step(lr);
            assertEquals(1, opt.steps());
            SafetensorsFile expected = SafetensorsFile.open(lora.resolve(expectedFile), arena);
            assertEquals(params.size(), expected.tensors().size());
            for (Parameter p : params) {
                Tensor want = expected.get(p.name()).orElseThrow();
                for (long i = 0; i < p.count(); i++) {
                    float g = p.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    float got = p.value().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    double error = Math.abs(got - want.getFloat(i));
                    assertTrue(error <= tolerance.apply(g),
                            p.name() + "[" + i + "]: " + got + " vs " + want.getFloat(i) + " (g = " + g + ")");
                }
            }
        }
    }
}
