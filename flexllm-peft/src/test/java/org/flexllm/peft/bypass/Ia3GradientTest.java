package org.flexllm.peft.bypass;

import java.util.Set;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** IA3's gradients (k, v outputs and down_proj's input) against central finite differences of the loss. */
class Ia3GradientTest {
    @ParameterizedTest
    @EnumSource(Pruning.class)
    void gradientsMatchFiniteDifferences(Pruning pruning) throws Exception {
        AdapterConfig config = AdapterConfig.builder().method(PeftMethod.IA3)
                .targets(Set.of(Projection.K_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ))
                .feedforwardModules(Set.of(Projection.DOWN_PROJ)).build();
        // Away from all-ones, so that the check does not rely on the initialisation's symmetry.
        GradientCheck.check(config, pruning, random -> 1 + 0.2 * random.nextGaussian());
    }
}
