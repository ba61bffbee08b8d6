package org.flexllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.Shared;
import org.flexllm.api.LoadedModel;
import org.flexllm.backend.Backends;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.ModelConverter;
import org.flexllm.model.ModelConverter.Format;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.peft.optim.Sgd;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LoRA on the backend against the golden float64 references of every case (PEFT's {@code lora} and rsLoRA's
 * {@code lora_rslora}): logits with the adapter, the loss and every adapter gradient (windows and backward slices of
 * several sizes, pruned and unpruned tapes, row-chunked backward), one SGD and one AdamW step from those gradients,
 * and the gradients over a quantized base (Q8_0, Q4_0) against those over its dequantized twin.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("org.flexllm.conformance.Conformance#backends")
public class LoraConformance {
    @org.junit.jupiter.params.Parameter
    String backendName;

    @BeforeEach
    void assumeAvailable() {
        Conformance.assumeAvailable(backendName);
    }

    static Stream<Path> cases() throws IOException {
        return GoldenLora.cases();
    }

    private GoldenLora.Loaded load(Path dir, Pruning pruning) throws IOException {
        return GoldenLora.load(Backends.create(backendName), dir, pruning);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsWithTheAdapterMatch(Path dir) throws IOException {
        try (GoldenLora.Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            Tensor expected = SafetensorsFile.open(dir.resolve("forward.safetensors"), arena).get("logits").orElseThrow();
            int vocab = c.model().config().vocabSize();
            int[] rows = {0};
            c.runner().logits(c.ids(), 0, (i, logits) -> {
                for (int v = 0; v < vocab; v++) {
                    assertEquals(expected.getFloat((long) i * vocab + v), logits[v], 1e-4, "position " + i + " token " + v);
                }
                rows[0]++;
            });
            assertEquals(c.ids().length, rows[0]);
        }
    }

    static Stream<Arguments> schedules() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (Path dir : cases().toList()) {
            out.add(Arguments.of(dir, Pruning.PRUNED, 20, 99));
            out.add(Arguments.of(dir, Pruning.PRUNED, 7, 1));
            out.add(Arguments.of(dir, Pruning.KEEP_ALL, 6, 2));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} window {2} slice {3}")
    @MethodSource("schedules")
    void lossAndEveryGradientMatch(Path dir, Pruning pruning, int window, int slice) throws IOException {
        try (GoldenLora.Loaded c = load(dir, pruning); Arena arena = Arena.ofConfined()) {
            JsonNode loss = new ObjectMapper().readTree(dir.resolve("loss.json").toFile());
            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            assertEquals(loss.get("num_target_tokens").asInt(), s.targetCount());
            double actual = c.runner().run(s, 0, 1f / s.targetCount(), window, slice);
            assertEquals(loss.get("loss").asDouble(), actual, 1e-5);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (Parameter p : c.parameters()) {
                Tensor expected = grads.get(p.name()).orElseThrow();
                float[] got = c.grad(p);
                for (int i = 0; i < p.count(); i++) {
                    assertEquals(expected.getFloat(i), got[i], 2e-5, p.name() + "[" + i + "]");
                }
            }
            assertTrue(c.parameters().size() > 0);
        }
    }

    static Stream<Arguments> rowChunks() throws IOException {
        return cases().flatMap(dir -> Stream.of(1, 3, 8, 20).map(rows ->
                Arguments.of(dir, rows)));
    }

    /**
     * Backward slices smaller than a layer: each layer in chunks of {@code rows} rows (3 and 8 do not divide the
     * 20-token sample), the last chunk first. The gradients equal the whole-layer backward's, and the golden ones.
     */
    @ParameterizedTest(name = "{0} chunks of {1} rows")
    @MethodSource("rowChunks")
    void rowChunkedBackwardMatchesTheWholeLayers(Path dir, int rows) throws IOException {
        try (GoldenLora.Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            TrainingSequence whole = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            double wholeLoss = c.runner().run(whole, 0, 1f / whole.targetCount(), 7, 99);
            List<float[]> wholeGrads = c.parameters().stream().map(c::grad).toList();
            c.parameters().forEach(p -> c.backend().zero(p.grad(), p.count()));

            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            assertEquals(wholeLoss, c.runner().runInRowChunks(s, 0, 1f / s.targetCount(), 7, rows), 1e-6 * wholeLoss);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (int k = 0; k < c.parameters().size(); k++) {
                Parameter p = c.parameters().get(k);
                Tensor golden = grads.get(p.name()).orElseThrow();
                float[] expected = wholeGrads.get(k);
                double largest = 0;
                double worst = 0;
                float[] grad = c.grad(p);
                for (int i = 0; i < p.count(); i++) {
                    float got = grad[i];
                    largest = Math.max(largest, Math.abs(expected[i]));
                    worst = Math.max(worst, Math.abs(got - expected[i]));
                    assertEquals(golden.getFloat(i), got, 2e-5, p.name() + "[" + i + "] (golden)");
                }
                // Relative to the tensor's largest gradient: chunks sum each entry's rows in another order, and an
                // entry that is a small sum of large terms of both signs carries their rounding.
                assertTrue(worst <= 1e-5 * largest, p.name() + ": the chunks' gradient is off by " + worst
                        + " where the largest is " + largest);
            }
        }
    }

    static Stream<Arguments> optimizerSteps() throws IOException {
        return cases().filter(dir -> dir.getFileName().toString().equals("lora")).flatMap(dir -> Stream.of(
                Arguments.of(dir, "after_sgd.safetensors"),
                Arguments.of(dir, "after_adamw.safetensors")));
    }

    /** The whole step: our gradients, then our optimizer, against the parameters after PyTorch's step. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("optimizerSteps")
    void parametersAfterOneStepFromOurGradientsMatch(Path dir, String expectedFile) throws IOException {
        try (GoldenLora.Loaded c = load(dir, Pruning.PRUNED); Arena arena = Arena.ofConfined()) {
            TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
            c.runner().run(s, 0, 1f / s.targetCount(), 20, 99);
            boolean sgd = expectedFile.contains("sgd");
            Optimizer optimizer = sgd ? new Sgd(c.backend(), c.parameters(), 0, 0)
                    : new AdamW(c.backend(), c.parameters(), 0.9, 0.999, 1e-8, 0.01);
            optimizer.step(sgd ? 0.1 : 1e-2);
            SafetensorsFile after = SafetensorsFile.open(dir.resolve(expectedFile), arena);
            SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"), arena);
            for (Parameter p : c.parameters()) {
                Tensor expected = after.get(p.name()).orElseThrow();
                Tensor g = grads.get(p.name()).orElseThrow();
                float[] value = c.value(p);
                for (int i = 0; i < p.count(); i++) {
                    double tolerance = sgd || Math.abs(g.getFloat(i)) >= 1e-5 ? 1e-6 : 1e-4;
                    assertEquals(expected.getFloat(i), value[i], tolerance, p.name() + "[" + i + "]");
                }
            }
        }
    }

    /**
     * QLoRA-style: a LoRA adapter (f32) over a quantized frozen base trains as over the same base dequantized to
     * f32: the loss and every adapter gradient agree, so the forward and the backward (dx through each frozen
     * quantized Linear) decode the blocks right.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void gradientsOverAQuantizedBaseEqualThoseOverItsDequantizedWeights(DType dtype, @TempDir Path dir)
            throws IOException {
        Path golden = Shared.resolve("golden/models/llama-gqa");
        Path gguf = dir.resolve("base.gguf");
        Path dequantized = dir.resolve("dequantized");
        ModelConverter.convert(golden, Format.GGUF, dtype, gguf);
        ModelConverter.convert(gguf, Format.SAFETENSORS, DType.F32, dequantized);
        LoadedModel quantizedBase = LoadedModel.open(gguf.toString());
        LoadedModel f32Base = LoadedModel.open(dequantized.toString());
        assertEquals(dtype, quantizedBase.weights().layers().getFirst().downProj().weight().dtype());
        Path lora = golden.resolve("lora");
        try (var q = GoldenLora.load(Backends.create(backendName), lora, Pruning.PRUNED, quantizedBase.config(),
                     quantizedBase.weights(), quantizedBase);
             var f = GoldenLora.load(Backends.create(backendName), lora, Pruning.PRUNED, f32Base.config(),
                     f32Base.weights(), f32Base)) {
            double lossQ = trainOnce(q);
            double lossF = trainOnce(f);
            assertEquals(lossF, lossQ, 1e-5);
            for (int p = 0; p < q.parameters().size(); p++) {
                Parameter pq = q.parameters().get(p);
                Parameter pf = f.parameters().get(p);
                float[] gf = f.grad(pf);
                float[] gq = q.grad(pq);
                double max = 0;
                for (float g : gf) {
                    max = Math.max(max, Math.abs(g));
                }
                for (int i = 0; i < gf.length; i++) {
                    assertEquals(gf[i], gq[i], 1e-4 * max + 1e-7, pq.name() + "[" + i + "]");
                }
            }
        }
    }

    private static double trainOnce(GoldenLora.Loaded c) {
        TrainingSequence s = new TrainingSequence(c.ids(), c.labels(), c.model().newTape(c.ids().length));
        return c.runner().run(s, 0, 1f / s.targetCount(), 7, 1);
    }
}
