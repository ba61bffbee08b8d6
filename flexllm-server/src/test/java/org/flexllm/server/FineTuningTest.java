package org.flexllm.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.JobListEventsParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.SyntheticModel;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneJob.FinetuneResult;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.tensor.Tensor;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fine-tuning API through the OpenAI SDK on {@code synthetic:tiny}: upload, job, events, checkpoints, the
 * fine-tuned model answering at once; the adapter the same as the job run directly by the library (as
 * {@code flexllm finetune} runs it); and a server restarted with a job half done resuming it to the same adapter.
 */
class FineTuningTest {
    private static final ModelConfig TINY = SyntheticModel.config("tiny");
    private static final long SEED = 7;
    private static final double LR_MULTIPLIER = 50;
    /** The server's default longest fine-tuning sample. */
    private static final int MAX_SEQ_LEN = 512;
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @TempDir
    Path temp;

    private Path data(int examples) throws Exception {
        return facts(0, examples, "train-" + examples + ".jsonl");
    }

    private Path facts(int first, int count, String file) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            lines.add("{\"prompt\": \"Fact " + i + ": the code is\", \"completion\": \" " + (1000 + 37 * i) + ".\"}");
        }
        return Files.write(temp.resolve(file), lines);
    }

    /** An SDK client that try-with-resources closes (the SDK's client is not AutoCloseable). */
    private record Sdk(OpenAIClient client) implements AutoCloseable {
        Sdk(FlexLlmServer server) {
            this(OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("none")
                    .maxRetries(0).build());
        }

        @Override
        public void close() {
            client.close();
        }

        /** Uploads a training file; its id. */
        String upload(Path data) {
            return client.files().create(FileCreateParams.builder().file(data).purpose(FilePurpose.FINE_TUNE).build())
                    .id();
        }

        /** The steps of the job's training metrics events, newest first. */
        List<Long> steps(String job) {
            return metrics(job, "train_loss").stream().map(m -> ((Number) m.get("step")).longValue()).toList();
        }

        /** The data of the job's metrics events that hold {@code key}, newest first. */
        List<Map<?, ?>> metrics(String job, String key) {
            return client.fineTuning().jobs().listEvents(job, JobListEventsParams.builder().limit(1000).build())
                    .data().stream()
                    .filter(e -> e.type().map(t -> t.asString().equals("metrics")).orElse(false))
                    .<Map<?, ?>>map(e -> e._data().convert(Map.class)).filter(m -> m.containsKey(key)).toList();
        }
    }

    private static JobCreateParams job(String file, int epochs) {
        return JobCreateParams.builder().model(Servers.TINY).trainingFile(file).seed(SEED)
                .hyperparameters(JobCreateParams.Hyperparameters.builder().nEpochs(epochs)
                        .learningRateMultiplier(LR_MULTIPLIER).batchSize(1).build()).build();
    }

    private static FineTuningJob awaitEnd(OpenAIClient client, String id) throws InterruptedException {
        FineTuningJob[] job = new FineTuningJob[1];
        Deadline.await(DEADLINE, () -> {
            job[0] = client.fineTuning().jobs().retrieve(id);
            return !job[0].status().asString().equals("running");
        }, () -> "job " + id + " ended");
        return job[0];
    }

    @Test
    void uploadTrainAndServeTheFineTunedModelAtOnce() throws Exception {
        Path data = data(4);
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"), b -> { });
             Sdk sdk = new Sdk(server)) {
            OpenAIClient client = sdk.client();
            FileObject file = client.files().create(FileCreateParams.builder().file(data)
                    .purpose(FilePurpose.FINE_TUNE).build());
            assertEquals(Files.size(data), file.bytes());
            assertEquals(file.id(), client.files().retrieve(file.id()).id());
            FineTuningJob created = client.fineTuning().jobs().create(job(file.id(), 2));
            assertEquals(file.id(), created.trainingFile());
            FineTuningJob done = awaitEnd(client, created.id());
            assertEquals("succeeded", done.status().asString(), String.valueOf(done.error()));
            String model = done.fineTunedModel().orElseThrow();

            List<FineTuningJobEvent> events = client.fineTuning().jobs().listEvents(created.id()).data();
            List<Long> steps = sdk.steps(created.id());
            assertEquals(8, steps.size(), "a metrics event per step: " + steps);
            assertTrue(events.getFirst().message().contains("successfully completed"), events.getFirst().message());
            List<FineTuningJobCheckpoint> checkpoints = client.fineTuning().jobs().checkpoints().list(created.id())
                    .data();
            assertEquals(List.of(8L, 4L), checkpoints.stream().map(FineTuningJobCheckpoint::stepNumber).toList());

            assertTrue(client.models().list().data().stream().anyMatch(m -> m.id().equals(model)));
            Completion c = client.completions().create(CompletionCreateParams.builder().model(model)
                    .prompt("Fact 1: the code is").maxTokens(6).temperature(0).build());
            GenerationResult direct = server.engine().generate(GenerationRequest.of("Fact 1: the code is")
                    .withParams(SamplingParams.builder().temperature(0).maxTokens(6).build()).withAdapter(model));
            assertEquals(direct.text(), c.choices().getFirst().text());

            assertTrue(client.fineTuning().jobs().list().data().stream().anyMatch(j -> j.id().equals(created.id())));
            Path viaApi = temp.resolve("state/jobs/" + created.id() + "/adapter");
            assertAdaptersClose(standalone(data, 2, temp.resolve("standalone")), viaApi, 1e-5f);
        }
    }

    @Test
    void aValidationFileIsScoredAtEachEpochAsTheLibraryEvaluatesIt() throws Exception {
        Path data = data(4);
        Path heldOut = facts(10, 3, "valid.jsonl");
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"), b -> { });
             Sdk sdk = new Sdk(server)) {
            OpenAIClient client = sdk.client();
            String validation = sdk.upload(heldOut);
            JobCreateParams params = job(sdk.upload(data), 2).toBuilder().validationFile(validation).build();
            FineTuningJob created = client.fineTuning().jobs().create(params);
            assertEquals(validation, created.validationFile().orElseThrow());
            FineTuningJob done = awaitEnd(client, created.id());
            assertEquals("succeeded", done.status().asString(), String.valueOf(done.error()));

            List<Map<?, ?>> validations = sdk.metrics(created.id(), "full_valid_loss");
            assertEquals(List.of(8L, 4L), validations.stream().map(m -> ((Number) m.get("step")).longValue())
                    .toList(), "one per epoch, the last on the final adapter: " + validations);
            double first = ((Number) validations.get(1).get("full_valid_loss")).doubleValue();
            double last = ((Number) validations.get(0).get("full_valid_loss")).doubleValue();
            for (Map<?, ?> v : validations) {
                double accuracy = ((Number) v.get("full_valid_mean_token_accuracy")).doubleValue();
                assertTrue(accuracy >= 0 && accuracy <= 1, v.toString());
            }
            List<FineTuningJobEvent> events = client.fineTuning().jobs().listEvents(created.id()).data();
            assertTrue(events.getFirst().message().contains("successfully completed"),
                    "the job ends after its final validation: " + events.getFirst().message());

            List<FineTuningJobCheckpoint> checkpoints = client.fineTuning().jobs().checkpoints().list(created.id())
                    .data();
            assertEquals(List.of(last, first), checkpoints.stream()
                    .map(c -> c.metrics().fullValidLoss().orElseThrow()).toList());
            assertEquals(Set.of(Servers.TINY, done.fineTunedModel().orElseThrow()), client.models().list().data()
                    .stream().map(m -> m.id()).collect(Collectors.toSet()),
                    "the checkpoints' adapters are served no more");

            List<String> csv;
            try (HttpResponse file = client.files().content(done.resultFiles().getFirst())) {
                csv = new String(file.body().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            }
            assertEquals("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy", csv.getFirst());
            assertEquals(9, csv.size(), "a row per step: " + csv);
            assertEquals(String.valueOf(first), csv.get(4).split(",")[3], csv.get(4));
            assertEquals(String.valueOf(last), csv.get(8).split(",")[3], csv.get(8));
            assertEquals("", csv.get(1).split(",", -1)[3], "no validation at step 1");

            // The library's own held-out evaluation of the same job: its training forward pass, not serving.
            double reference = standalone(data, examples(heldOut), 2, temp.resolve("standalone")).evalLoss();
            assertEquals(reference, last, 1e-4, "the final adapter's validation loss");
            assertTrue(Math.abs(first - last) > 1e-3, "training moved the validation loss: " + first + ", " + last);
        }
    }

    @Test
    void aValidationFileWhoseLabelsAreNotItsTokensIsRefused() throws Exception {
        Path bad = Files.writeString(temp.resolve("bad.jsonl"), "{\"input_ids\": [1, 2, 3], \"labels\": [1, 5, 3]}\n");
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"), b -> { });
             Sdk sdk = new Sdk(server)) {
            JobCreateParams params = job(sdk.upload(data(2)), 1).toBuilder().validationFile(sdk.upload(bad)).build();
            BadRequestException e = assertThrows(BadRequestException.class,
                    () -> sdk.client().fineTuning().jobs().create(params));
            assertTrue(e.getMessage().contains("label 5 at position 1 is not the input token 2"), e.getMessage());
            assertTrue(sdk.client().fineTuning().jobs().list().data().isEmpty(), "no job was made");
        }
    }

    @Test
    void aServerRestartedWithAJobHalfDoneResumesItToTheUninterruptedAdapter() throws Exception {
        Path data = data(8);
        // 96 steps, a checkpoint every 8: the server is stopped just after the first, long before the end.
        int epochs = 12;
        Path state = temp.resolve("state");
        String id;
        try (FlexLlmServer server = Servers.start(Servers.TINY, state, b -> { });
             Sdk sdk = new Sdk(server)) {
            OpenAIClient client = sdk.client();
            JobCreateParams params = job(sdk.upload(data), epochs).toBuilder()
                    .validationFile(sdk.upload(facts(20, 2, "valid.jsonl"))).build();
            id = client.fineTuning().jobs().create(params).id();
            Deadline.await(DEADLINE, () -> !client.fineTuning().jobs().checkpoints().list(id).data().isEmpty(),
                    () -> "a first checkpoint");
        }
        String onDisk = Files.readString(state.resolve("jobs/" + id + "/job.json"));
        assertTrue(onDisk.contains("\"status\":\"running\""), "stopped mid-job, kept running: " + onDisk);
        try (FlexLlmServer server = Servers.start(Servers.TINY, state, b -> { });
             Sdk sdk = new Sdk(server)) {
            OpenAIClient client = sdk.client();
            FineTuningJob done = awaitEnd(client, id);
            assertEquals("succeeded", done.status().asString(), String.valueOf(done.error()));
            assertEquals(epochs * 8L, sdk.steps(id).getFirst(), "the last step was recorded");
            // Each epoch validated once, whether the stop came before, during or after its checkpoint's scoring.
            assertEquals(LongStream.rangeClosed(1, epochs).map(e -> 8 * (epochs + 1 - e)).boxed().toList(),
                    sdk.metrics(id, "full_valid_loss").stream().map(m -> ((Number) m.get("step")).longValue())
                            .toList());
        }
        assertAdaptersClose(uninterrupted(data, epochs), state.resolve("jobs/" + id + "/adapter"), 2e-4f);
    }

    /** The same job through the API of a server that runs it to its end. */
    private Path uninterrupted(Path data, int epochs) throws Exception {
        Path state = temp.resolve("uninterrupted");
        try (FlexLlmServer server = Servers.start(Servers.TINY, state, b -> { });
             Sdk sdk = new Sdk(server)) {
            String id = sdk.client().fineTuning().jobs().create(job(sdk.upload(data), epochs)).id();
            assertEquals("succeeded", awaitEnd(sdk.client(), id).status().asString());
            return state.resolve("jobs/" + id + "/adapter");
        }
    }

    @Test
    void aCancelledJobStopsWithACheckpointAndServesNothing() throws Exception {
        Path data = data(4);
        try (FlexLlmServer server = Servers.start(Servers.TINY, temp.resolve("state"), b -> { });
             Sdk sdk = new Sdk(server)) {
            OpenAIClient client = sdk.client();
            // Long enough that it is still running when cancelled: some ten thousand steps.
            String id = client.fineTuning().jobs().create(job(sdk.upload(data), 2500)).id();
            Deadline.await(DEADLINE, () -> !sdk.steps(id).isEmpty(), () -> "a first step");
            FineTuningJob cancelled = client.fineTuning().jobs().cancel(id);
            assertEquals("cancelled", cancelled.status().asString());
            assertTrue(cancelled.fineTunedModel().isEmpty());
            assertFalse(client.fineTuning().jobs().checkpoints().list(id).data().isEmpty(), "a checkpoint is kept");
            assertEquals(List.of(Servers.TINY), client.models().list().data().stream().map(m -> m.id()).toList());
            assertEquals(0, server.adapters().resident().size(), "the job's adapter slot is free again");
        }
    }

    /** The same job run directly by the library on a thread of its own, as {@code flexllm finetune} runs it. */
    private static Path standalone(Path data, int epochs, Path out) throws Exception {
        return standalone(data, List.of(), epochs, out).output();
    }

    /** As {@link #standalone(Path, int, Path)}, evaluating the final adapter on {@code eval}. */
    private static FinetuneResult standalone(Path data, List<TrainingExample> eval, int epochs, Path out)
            throws Exception {
        FinetuneOptions options = FinetuneOptions.builder().adapter(AdapterConfig.builder().build())
                .lr(2e-4 * LR_MULTIPLIER).epochs(epochs).batchSize(1).seed(SEED).maxSeqLen(MAX_SEQ_LEN).build();
        try (FinetuneJob job = Finetuner.builder().model(Servers.TINY).data(examples(data)).eval(eval)
                .options(options).output(out).start()) {
            return job.await();
        }
    }

    private static List<TrainingExample> examples(Path file) {
        return DatasetReader.of(Tokenizer.bytes(TINY.vocabSize()), TINY.vocabSize(), MAX_SEQ_LEN).read(file)
                .examples();
    }

    /**
     * Equal within {@code tolerance}: training in windows beside other work sums in another order than in one piece,
     * and AdamW carries that float noise from step to step (some 1e-7 after 8 steps, 1e-5 after 96), while a wrong
     * data order or optimizer state after a resume would differ by far more.
     */
    private static void assertAdaptersClose(Path expected, Path actual, float tolerance) {
        try (Arena arena = Arena.ofConfined()) {
            Adapter e = AdapterFolder.read(expected, TINY, arena);
            Adapter a = AdapterFolder.read(actual, TINY, arena);
            assertEquals(e.tensors().keySet(), a.tensors().keySet());
            for (Map.Entry<String, Tensor> t : e.tensors().entrySet()) {
                assertArrayEquals(t.getValue().data().toArray(ValueLayout.JAVA_FLOAT),
                        a.tensors().get(t.getKey()).data().toArray(ValueLayout.JAVA_FLOAT), tolerance, t.getKey());
            }
        }
    }
}
