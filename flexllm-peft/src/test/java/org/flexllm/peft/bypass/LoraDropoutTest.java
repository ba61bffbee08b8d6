package org.flexllm.peft.bypass;

import java.util.EnumSet;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * LoRA with dropout: the backward regenerates the forward's masks (in windows and slices, pruned or not), so
 * the gradients are those of the loss under those masks. Without the masks in the backward, A's gradients
 * would be those of the undropped input and fail the check.
 */
class LoraDropoutTest {
    @ParameterizedTest
    @EnumSource(Pruning.class)
    void gradientsMatchFiniteDifferencesUnderTheSameMasks(Pruning pruning) throws Exception {
        AdapterConfig config = AdapterConfig.builder().method(PeftMethod.LORA).r(4).loraAlpha(8).loraDropout(0.3)
                .targets(EnumSet.allOf(Projection.class)).build();
        GradientCheck.check(config, pruning, random -> 0.3 * random.nextGaussian());
    }
}
