package org.flexllm.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.flexllm.api.LoadedModel;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.data.Dataset;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;

/**
 * Finetuning from Java: read a JSONL dataset, train a LoRA adapter with AdamW, watch the loss, get a Hugging
 * Face PEFT folder (loadable by PEFT and vLLM). Runs on a random-weight model by default; pass a model folder
 * and a JSONL file ({@code {"text": ...}} lines) to train a real one.
 */
public final class FinetuneExample {
    private FinetuneExample() {}

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "synthetic:tiny";
        Path data = args.length > 1 ? Path.of(args[1]) : sampleData();
        Path out = Files.createTempDirectory("flexllm-adapter");
        Dataset dataset;
        try (LoadedModel loaded = LoadedModel.open(model)) {
            dataset = DatasetReader.of(loaded.tokenizer(), loaded.config().vocabSize(), 256).read(data);
        }
        AdapterConfig lora = AdapterConfig.builder().method(PeftMethod.LORA).r(8).loraAlpha(16)
                .targets(EnumSet.allOf(Projection.class)).baseModelNameOrPath(model).build();
        FinetuneOptions options = FinetuneOptions.builder().adapter(lora).lr(1e-2).steps(20).maxSeqLen(256)
                .checkpointEvery(10).build();
        try (FinetuneJob job = Finetuner.builder().model(model).data(dataset.examples()).options(options).output(out)
                .onStep(s -> System.out.printf("step %2d  loss %.4f  %.0f tokens/s%n", s.step(), s.loss(),
                        s.tokensPerSecond()))
                .start()) {
            FinetuneJob.FinetuneResult result = job.await();
            System.out.printf("adapter written to %s after %d steps (loss %.4f)%n", result.output(), result.steps(),
                    result.finalLoss());
        }
    }

    private static Path sampleData() throws java.io.IOException {
        Path file = Files.createTempFile("flexllm-data", ".jsonl");
        Files.write(file, List.of("{\"text\": \"The cat sat on the mat.\"}", "{\"text\": \"The dog sat on the log.\"}"));
        return file;
    }
}
