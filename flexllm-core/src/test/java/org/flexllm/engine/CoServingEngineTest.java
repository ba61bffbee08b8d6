package org.flexllm.engine;

import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.LoadedModel;
import org.flexllm.api.Prompt;
import org.flexllm.api.Slo;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.schedule.LinearLatencyModel;
import org.flexllm.schedule.Policy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The co-serving engine with finetuning jobs, on {@code synthetic:tiny} with a simulated clock and a fixed
 * latency model: what the scheduler decides, and hence every SLO outcome, is the same on any machine.
 */
class CoServingEngineTest {
    private static final String MODEL = "synthetic:tiny";
    private static final int VOCAB = 512;
    /** 4 ms a pass, 0.5 ms a decode token, 0.05 ms a prefill or finetuning token, 0.05 ms a backward layer-token. */
    private static final LinearLatencyModel LATENCY = LinearLatencyModel.fixed(Coefficients.builder()
            .iteration(4).decodeToken(0.5).prefillToken(0.05).finetuneToken(0.05).backwardLayerToken(0.05).build());
    private static final Slo SLO = new Slo(200, 10);

    private static LlmEngine engine(Policy policy, List<IterationRecord> records, SimpleMeterRegistry meters,
                                    Path trace) {
        var builder = LlmEngine.builder().model(MODEL).policy(policy).tokenBudget(32).maxFinetuneTokens(48)
                .clock(EngineClock.simulated()).latencyModel(LATENCY).slo(SLO).meterRegistry(meters)
                .onIteration(records::add);
        return (trace == null ? builder : builder.traceFile(trace)).build();
    }

    private static GenerationRequest request(int i, int tokens) {
        int[] prompt = {1 + i % 50, 2 + i % 60, 3 + i % 70};
        return GenerationRequest.of(Prompt.ids(prompt)).withParams(SamplingParams.builder().temperature(0)
                .maxTokens(tokens).ignoreEos(true).build());
    }

    @Test
    void aShortCoServingRunMeetsItsSlosWhileTheJobTrains(@TempDir Path dir) throws Exception {
        List<IterationRecord> records = new CopyOnWriteArrayList<>();
        var meters = new SimpleMeterRegistry();
        Path trace = dir.resolve("trace.jsonl");
        RecordingSource job = RecordingSource.of(6, 40, VOCAB);
        List<GenerationResult> results = new ArrayList<>();
        try (LlmEngine engine = engine(Policy.COSERVE, records, meters, trace)) {
            engine.attach(job);
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(engine.submit(request(i, 20)));
            }
            for (var f : futures) {
                results.add(f.get(60, TimeUnit.SECONDS));
            }
            assertNull(job.detached.get(60, TimeUnit.SECONDS), "the job finished normally");
        }
        results.forEach(r -> assertTrue(r.sloMet(), "SLO missed: " + r.timings()));
        assertEquals(6, job.losses.size(), "every sample completed");
        job.losses.forEach(loss -> assertTrue(loss > 0 && Double.isFinite(loss), "loss " + loss));
        assertTrue(records.stream().anyMatch(r -> r.composition().decodeTokens() > 0
                && r.composition().finetuneTokens() > 0), "a forward pass carried decodes and a finetuning window");
        assertTrue(records.stream().anyMatch(r -> r.composition().decodeTokens() > 0 && r.composition().backwardLayers() > 0),
                "a backward slice ran in an iteration with decodes");
        assertEquals(6 * 40, records.stream().mapToInt(IterationRecord::finetuneCompleted).sum());
        List<String> lines = Files.readAllLines(trace);
        assertEquals(records.size(), lines.size());
        assertEquals(records.getFirst().predictedMs(),
                new ObjectMapper().readTree(lines.getFirst()).get("predictedMs").asDouble(), 1e-12);
        assertEquals(8, meters.get("flexllm.requests").tag("outcome", "slo_met").counter().count());
        assertEquals(8, meters.get("flexllm.request.ttft").timer().count());
        assertEquals(records.size(), meters.get("flexllm.latency_model.error").summary().count(),
                "the model's error, once per iteration");
        assertEquals(0, meters.get("flexllm.latency_model.error").summary().max(), 1e-9,
                "a simulated clock takes what the fixed model predicts");
        assertEquals(1, meters.get("flexllm.latency_model.margin").gauge().value(), "a fixed model plans bare");
        assertEquals(records.stream().mapToInt(IterationRecord::finetuneWaiting).sum(),
                meters.get("flexllm.finetune.waiting").counter().count());
        assertEquals(records.stream().filter(IterationRecord::overLimit).count(),
                meters.get("flexllm.iterations.over_limit").counter().count());
    }

    /**
     * A KV cache of 4 blocks: a 40-token sample holds 3, so a 40-token prompt cannot start until it is done. The
     * job must go on while the request waits, even when the request's TTFT leaves finetuning no time at all (it
     * used to wait for the request, which waited for it: a stall).
     */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRequestWaitingForBlocksASampleHoldsDoesNotStallTheJob() throws Exception {
        List<IterationRecord> records = new CopyOnWriteArrayList<>();
        RecordingSource job = RecordingSource.of(6, 40, VOCAB);
        try (LlmEngine engine = LlmEngine.builder().model(MODEL).policy(Policy.COSERVE).tokenBudget(32)
                .maxFinetuneTokens(40).maxModelLen(64).blockSize(16)
                .kvCacheBytes(4 * 16 * PagedKvCache.bytesPerToken(LoadedModel.open(MODEL).config()))
                .clock(EngineClock.simulated()).latencyModel(LATENCY).slo(SLO).meterRegistry(new SimpleMeterRegistry())
                .onIteration(records::add).build()) {
            engine.attach(job);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (records.stream().noneMatch(r -> r.composition().finetuneTokens() > 0)) {
                assertTrue(System.nanoTime() < deadline, "the job never started");
                Thread.sleep(1);
            }
            int[] prompt = new int[40];
            java.util.Arrays.fill(prompt, 7);
            GenerationResult result = engine.submit(GenerationRequest.of(Prompt.ids(prompt)).withParams(
                    SamplingParams.builder().temperature(0).maxTokens(8).ignoreEos(true).build())
                    .withSlo(new Slo(1, 10))).get(60, TimeUnit.SECONDS);
            assertEquals(8, result.ids().size());
            assertNull(job.detached.get(60, TimeUnit.SECONDS), "the job finished normally");
        }
        assertEquals(6, job.losses.size(), "every sample completed");
    }

    @Test
    void windowedLossInMixedBatchesEqualsTheSampleRunAlone() throws Exception {
        RecordingSource job = RecordingSource.of(2, 48, VOCAB);
        double[] alone = new double[2];
        try (var loaded = LoadedModel.open(MODEL); var backend = new CpuBackend()) {
            var model = CompiledModel.compile(backend, loaded.config(), loaded.weights(), List.of(), 64, 64);
            var kv = PagedKvCache.allocate(backend, loaded.config(), 16, PagedKvCache.bytesPerToken(loaded.config()) * 64);
            var runner = new TrainingRunner(model, kv, 64);
            var copy = RecordingSource.of(2, 48, VOCAB);
            for (int i = 0; i < 2; i++) {
                TrainingSample s = copy.next();
                alone[i] = runner.evaluate(new TrainingSequence(s.ids(), s.labels(), model.newTape(64)), -1,
                        s.lossWeight(), 64);
            }
        }
        List<IterationRecord> records = new CopyOnWriteArrayList<>();
        try (LlmEngine engine = engine(Policy.COSERVE, records, new SimpleMeterRegistry(), null)) {
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                futures.add(engine.submit(request(i, 60)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (records.stream().noneMatch(r -> r.composition().decodeTokens() > 0)) {
                assertTrue(System.nanoTime() < deadline, "no request decoded within 120 s");
                Thread.sleep(1);
            }
            engine.attach(job);
            job.detached.get(60, TimeUnit.SECONDS);
            for (var f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        assertTrue(records.stream().anyMatch(r -> r.composition().finetuneTokens() > 0
                && r.composition().decodeTokens() > 0),
                "the samples ran beside decodes");
        assertTrue(records.stream().filter(r -> r.composition().finetuneTokens() > 0).count() >= 4,
                "each sample's forward took at least two windows (the budget is 32 tokens)");
        assertEquals(alone[0], job.losses.get(0), 1e-5);
        assertEquals(alone[1], job.losses.get(1), 1e-5);
    }

    @Test
    void closingWithRequestsAndAJobInFlightEndsEachWithAReason() throws Exception {
        RecordingSource job = RecordingSource.of(1000, 40, VOCAB);
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        try (LlmEngine engine = engine(Policy.COSERVE, new ArrayList<>(), new SimpleMeterRegistry(), null)) {
            engine.attach(job);
            for (int i = 0; i < 3; i++) {
                futures.add(engine.submit(request(i, 2000)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (job.losses.size() < 2) {
                assertTrue(System.nanoTime() < deadline, "the job made 2 steps within 120 s; it made "
                        + job.losses.size());
                Thread.sleep(1);
            }
        }
        int cancelled = 0;
        for (var f : futures) {
            try {
                assertTrue(f.get(10, TimeUnit.SECONDS).ids().size() > 0);
            } catch (CancellationException e) {
                assertTrue(e.getCause().getMessage().contains("closed before request"), e.getCause().getMessage());
                cancelled++;
            }
        }
        assertTrue(cancelled > 0, "requests of 2000 tokens were still running");
        assertInstanceOf(CancellationException.class, job.detached.get(10, TimeUnit.SECONDS));
        assertEquals(1, job.detachCalls());
    }

    @Test
    void twoJobsShareFinetuningByTheirWeights() throws Exception {
        RecordingSource heavy = RecordingSource.of(1000, 40, VOCAB, 3);
        RecordingSource light = RecordingSource.of(1000, 40, VOCAB, 1);
        try (LlmEngine engine = engine(Policy.COSERVE, new ArrayList<>(), new SimpleMeterRegistry(), null)) {
            engine.attach(heavy);
            engine.attach(light);
            for (int i = 0; i < 4; i++) {
                engine.submit(request(i, 500));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (heavy.losses.size() + light.losses.size() < 80) {
                assertTrue(System.nanoTime() < deadline, "80 samples within 120 s; got "
                        + (heavy.losses.size() + light.losses.size()));
                Thread.sleep(1);
            }
        }
        double ratio = (double) heavy.losses.size() / light.losses.size();
        assertEquals(3, ratio, 0.6, heavy.losses.size() + " : " + light.losses.size() + " samples");
    }

    @Test
    void aStoppedOrFailingJobIsDetachedWhileServingGoesOn() throws Exception {
        RecordingSource stopped = RecordingSource.of(1000, 40, VOCAB);
        RecordingSource failing = RecordingSource.of(1000, 40, VOCAB);
        failing.failOnComplete = new IllegalStateException("loss is NaN");
        try (LlmEngine engine = engine(Policy.COSERVE, new ArrayList<>(), new SimpleMeterRegistry(), null)) {
            engine.attach(stopped);
            engine.attach(failing);
            stopped.stop = true;
            assertInstanceOf(CancellationException.class, stopped.detached.get(30, TimeUnit.SECONDS));
            assertEquals("loss is NaN", failing.detached.get(30, TimeUnit.SECONDS).getMessage());
            assertEquals(5, engine.submit(request(1, 5)).get(30, TimeUnit.SECONDS).ids().size());
        }
        assertEquals(1, stopped.detachCalls());
        assertEquals(1, failing.detachCalls());
    }

    @Test
    void inferenceOnlyRefusesJobsAndTooLongSamplesAreRefused() {
        try (LlmEngine engine = engine(Policy.INFERENCE_ONLY, new ArrayList<>(), new SimpleMeterRegistry(), null)) {
            assertThrows(IllegalStateException.class, () -> engine.attach(RecordingSource.of(1, 8, VOCAB)));
        }
        try (LlmEngine engine = engine(Policy.COSERVE, new ArrayList<>(), new SimpleMeterRegistry(), null)) {
            var e = assertThrows(IllegalArgumentException.class, () -> engine.attach(RecordingSource.of(1, 49, VOCAB)));
            assertTrue(e.getMessage().contains("49") && e.getMessage().contains("48"), e.getMessage());
        }
    }
}
