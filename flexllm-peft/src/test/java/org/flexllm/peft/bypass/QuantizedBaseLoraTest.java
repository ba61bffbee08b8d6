package org.flexllm.peft.bypass;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.flexllm.Shared;
import org.flexllm.api.LoadedModel;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.model.ModelConverter;
import org.flexllm.model.ModelConverter.Format;
import org.flexllm.peft.Parameter;
import org.flexllm.tensor.DType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * QLoRA-style: a LoRA adapter (f32) over a quantized frozen base trains as over the same base dequantized to f32:
 * the loss and every adapter gradient agree, so the forward and the backward (dx through each frozen quantized
 * Linear) decode the blocks right.
 */
class QuantizedBaseLoraTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void gradientsOverAQuantizedBaseEqualThoseOverItsDequantizedWeights(DType dtype) throws IOException {
        Path golden = Shared.resolve("golden/models/llama-gqa");
        Path gguf = dir.resolve("base.gguf");
        Path dequantized = dir.resolve("dequantized");
        ModelConverter.convert(golden, Format.GGUF, dtype, gguf);
        ModelConverter.convert(gguf, Format.SAFETENSORS, DType.F32, dequantized);
        LoadedModel quantizedBase = LoadedModel.open(gguf.toString());
        LoadedModel f32Base = LoadedModel.open(dequantized.toString());
        assertEquals(dtype, quantizedBase.weights().layers().getFirst().downProj().weight().dtype());
        Path lora = golden.resolve("lora");
        try (var q = GoldenLoraTest.load(lora, Pruning.PRUNED, quantizedBase.config(), quantizedBase.weights(),
                     quantizedBase);
             var f = GoldenLoraTest.load(lora, Pruning.PRUNED, f32Base.config(), f32Base.weights(), f32Base)) {
            double lossQ = run(q);
            double lossF = run(f);
            assertEquals(lossF, lossQ, 1e-5);
            for (int p = 0; p < q.parameters().size(); p++) {
                Parameter pq = q.parameters().get(p);
                Parameter pf = f.parameters().get(p);
                double max = 0;
                for (long i = 0; i < pf.count(); i++) {
                    max = Math.max(max, Math.abs(pf.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i)));
                }
                for (long i = 0; i < pf.count(); i++) {
                    assertEquals(pf.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i),
                            pq.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i), 1e-4 * max + 1e-7, pq.name() + "[" + i + "]");
                }
            }
        }
    }

    private static double run(GoldenLoraTest.Loaded c) {
        TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
        return c.runner().run(s, 0, 1f / s.targetCount(), 7, 1);
    }
}
