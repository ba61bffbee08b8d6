package org.flexllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.flexllm.Shared;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.LoadedModel;
import org.flexllm.api.Prompt;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.GgufCheckpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

/** llama.cpp's GGUF of stories260K against the Hugging Face folder of the same weights. */
class GgufModelTest {
    static final Path FOLDER = Shared.resolve("models/stories260K");
    static final Path GGUF_FOLDER = Shared.resolve("models/stories260K-gguf");
    static final int[] SEQUENCE = {1, 403, 407, 261, 378, 1151 % 512, 300, 42, 7, 99, 260, 263, 400, 500, 3, 511};

    @Test
    void configMatchesTheFolder() {
        try (GgufCheckpoint gguf = GgufCheckpoint.load(GgufCheckpoint.locate(GGUF_FOLDER).orElseThrow());
             Checkpoint hf = Checkpoint.load(FOLDER)) {
            ModelConfig g = gguf.config();
            ModelConfig h = hf.config();
            // The GGUF says 2048 (its converter's default) and stores output.weight apart from the embeddings.
            assertEquals(h, new ModelConfig(g.architecture(), g.hiddenSize(), g.intermediateSize(), g.numLayers(),
                    g.numHeads(), g.numKvHeads(), g.headDim(), g.vocabSize(), g.rmsNormEps(), g.ropeTheta(),
                    g.ropeScaling(), h.maxPositionEmbeddings(), true, g.qkvBias(), g.oBias(), g.mlpBias(),
                    g.bosTokenId(), h.eosTokenIds()));
        }
    }

    @Test
    void logitsMatchTheFolder() {
        try (GgufCheckpoint gguf = GgufCheckpoint.load(GgufCheckpoint.locate(GGUF_FOLDER).orElseThrow());
             Checkpoint hf = Checkpoint.load(FOLDER);
             var expected = new SingleSequence(hf.config(), hf.weights(), SEQUENCE.length);
             var actual = new SingleSequence(gguf.config(), gguf.weights(), SEQUENCE.length)) {
            assertLogitsClose(expected.logits(SEQUENCE, 5), actual.logits(SEQUENCE, 5), 1e-4, "stories260K.gguf");
        }
    }

    @Test
    void greedyTokensMatchTheFolder() {
        var params = SamplingParams.builder().temperature(0).maxTokens(40).build();
        GenerationRequest request = GenerationRequest.of(Prompt.text("Once upon a time")).withParams(params);
        try (LlmEngine hf = LlmEngine.builder().model(FOLDER).build();
             LlmEngine gguf = LlmEngine.builder().model(GGUF_FOLDER.resolve("stories260K.gguf")).build()) {
            assertEquals(hf.generate(request).ids(), gguf.generate(request).ids());
        }
    }

    @Test
    void tokenizerEncodesAsTheHuggingFaceOne() {
        try (LoadedModel gguf = LoadedModel.open(GGUF_FOLDER.toString());
             LoadedModel hf = LoadedModel.open(FOLDER.toString())) {
            for (String text : List.of("Once upon a time", "Lily's dog ran, fast!  Then\nit stopped.", "ÿ€ 日本 ok",
                    "", " leading space", "<s>tokens</s> inside")) {
                assertEquals(Arrays.toString(hf.tokenizer().encode(text, true)),
                        Arrays.toString(gguf.tokenizer().encode(text, true)), text);
                int[] ids = hf.tokenizer().encode(text, false);
                assertEquals(hf.tokenizer().decode(ids, false), gguf.tokenizer().decode(ids, false), text);
            }
            assertEquals(hf.tokenizer().bosId(), gguf.tokenizer().bosId());
            assertEquals(hf.tokenizer().eosId(), gguf.tokenizer().eosId());
        }
    }

    static void assertLogitsClose(List<float[]> expected, List<float[]> actual, double atol, String what) {
        assertEquals(expected.size(), actual.size(), what + ": positions");
        double worst = 0;
        for (int t = 0; t < expected.size(); t++) {
            for (int v = 0; v < expected.get(t).length; v++) {
                worst = Math.max(worst, Math.abs(expected.get(t)[v] - actual.get(t)[v]));
            }
        }
        if (worst > atol) {
            throw new AssertionError(what + ": max |logit difference| " + worst + " > " + atol);
        }
    }
}
