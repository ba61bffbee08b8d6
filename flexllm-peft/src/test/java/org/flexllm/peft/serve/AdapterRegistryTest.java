package org.flexllm.peft.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.Shared;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.AdapterSlotsBusyException;
import org.flexllm.api.UnknownAdapterException;
import org.flexllm.graph.Projection;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.UnsupportedAdapterException;
import org.flexllm.peft.bypass.LoraBypass;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.format.AdapterMismatchException;
import org.flexllm.peft.init.AdapterInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registration checks, residency (LRU, pins, deferred unregistering) and thread safety, without an engine. */
class AdapterRegistryTest {
    static final Path LLAMA = Shared.resolve("golden/models/llama-gqa");
    static final Path QWEN = Shared.resolve("golden/models/qwen2-bias-tied");
    static final Path LORA = LLAMA.resolve("lora");

    @TempDir
    Path tmp;

    static ModelConfig config(Path model) {
        return ModelConfigs.read(model.resolve("config.json"));
    }

    /** A registry bound to llama-gqa with the golden LoRA under each of {@code names}. */
    private static AdapterRegistry bound(int maxResident, String... names) {
        AdapterRegistry registry = AdapterRegistry.create(maxResident, 4);
        registry.passes(config(LLAMA));
        for (String name : names) {
            registry.register(name, LORA);
        }
        return registry;
    }

    private static void use(AdapterRegistry registry, String name) {
        registry.release(registry.tryAcquire(name));
    }

    @Test
    void aRankAboveMaxRankIsRefused() {
        try (AdapterRegistry registry = AdapterRegistry.create(2, 2)) {
            var error = assertThrows(RankTooLargeException.class, () -> registry.register("x", LORA));
            assertTrue(error.getMessage().contains("r = 4 exceeds the registry's maxRank 2"), error.getMessage());
            assertEquals(Set.of(), registry.names());
        }
    }

    @Test
    void ia3ScalingWhatTheOpsCannotScaleIsRefused() {
        AdapterConfig sharedInput = AdapterConfig.builder().method(PeftMethod.IA3)
                .targets(EnumSet.of(Projection.Q_PROJ, Projection.K_PROJ)).feedforwardModules(Set.of(Projection.Q_PROJ))
                .build();
        AdapterConfig residualOutput = AdapterConfig.builder().method(PeftMethod.IA3)
                .targets(EnumSet.of(Projection.K_PROJ, Projection.DOWN_PROJ)).feedforwardModules(Set.of()).build();
        try (AdapterRegistry registry = AdapterRegistry.create(2, 4)) {
            sharedInput.write(tmp);
            var error = assertThrows(UnsupportedAdapterException.class, () -> registry.register("q", tmp));
            assertTrue(error.getMessage().contains("q_proj in feedforward_modules"), error.getMessage());
            residualOutput.write(tmp);
            error = assertThrows(UnsupportedAdapterException.class, () -> registry.register("down", tmp));
            assertTrue(error.getMessage().contains("down_proj without listing it in feedforward_modules"),
                    error.getMessage());
        }
    }

    @Test
    void anAdapterRegisteredBeforeBindingIsCheckedAtBinding() {
        try (AdapterRegistry registry = AdapterRegistry.create(2, 4)) {
            registry.register("llama", LORA);
            assertThrows(AdapterMismatchException.class, () -> registry.passes(config(QWEN)));
        }
    }

    @Test
    void aRegistryServesOneModel() {
        try (AdapterRegistry registry = bound(1)) {
            assertEquals(1, registry.passes(config(LLAMA)).size());
            var error = assertThrows(IllegalStateException.class, () -> registry.passes(config(QWEN)));
            assertTrue(error.getMessage().contains("one registry per model"), error.getMessage());
        }
    }

    @Test
    void namesAreUniqueAndUnknownNamesAreRefused() {
        try (AdapterRegistry registry = bound(1, "x")) {
            assertThrows(IllegalArgumentException.class, () -> registry.register("x", LORA));
            assertThrows(UnknownAdapterException.class, () -> registry.tryAcquire("y"));
            assertThrows(UnknownAdapterException.class, () -> registry.unregister("y"));
            assertThrows(IllegalStateException.class, () -> registry.release(0));
            assertEquals(Set.of("x"), registry.names());
        }
    }

    @Test
    void theLeastRecentlyUsedUnpinnedAdapterIsEvicted() {
        try (AdapterRegistry registry = bound(2, "a", "b", "c")) {
            use(registry, "a");
            use(registry, "b");
            use(registry, "a");
            use(registry, "c");
            assertEquals(Set.of("a", "c"), Set.copyOf(registry.resident()));
            int b = registry.tryAcquire("b");
            assertEquals(Set.of("b", "c"), Set.copyOf(registry.resident()));
            assertEquals(1, registry.pins("b"));
            registry.release(b);
            assertEquals(0, registry.pins("b"));
        }
    }

    @Test
    void aPinnedAdapterIsNeverEvictedAndAWaitingOneTakesItsSlotOnceItDrains() {
        try (AdapterRegistry registry = bound(1, "a", "b")) {
            int a = registry.tryAcquire("a");
            assertEquals(a, registry.tryAcquire("a"));
            assertEquals(2, registry.pins("a"));
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("b"));
            // The slot drains for b: a takes no new pins, and no running request loses its slot.
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("a"));
            assertEquals(List.of("a"), registry.resident());
            registry.release(a);
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("b"));
            registry.release(a);
            int b = registry.tryAcquire("b");
            assertEquals(a, b);
            assertEquals(List.of("b"), registry.resident());
            registry.release(b);
        }
    }

    @Test
    void waitingAdaptersGetTheSlotInTheOrderTheyStartedWaiting() {
        try (AdapterRegistry registry = bound(1, "a", "b", "c")) {
            int a = registry.tryAcquire("a");
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("b"));
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("c"));
            registry.release(a);
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("c"), "c asked after b: the drained slot is b's");
            int b = registry.tryAcquire("b");
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("c"));
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("a"), "a waits behind c now");
            registry.release(b);
            int c = registry.tryAcquire("c");
            assertEquals(List.of("c"), registry.resident());
            registry.release(c);
        }
    }

    @Test
    void anUnregisteredWaitingAdapterGivesUpItsReservation() {
        try (AdapterRegistry registry = bound(1, "a", "b", "c")) {
            int a = registry.tryAcquire("a");
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("b"));
            registry.unregister("b");
            assertThrows(UnknownAdapterException.class, () -> registry.tryAcquire("b"));
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("c"));
            registry.release(a);
            int c = registry.tryAcquire("c");
            assertEquals(List.of("c"), registry.resident());
            registry.release(c);
        }
    }

    @Test
    void anEvictedAdapterIsReadAgainWithTheSameWeights() {
        try (AdapterRegistry registry = bound(1, "a", "b")) {
            ResidentView first = ResidentView.of(registry, "a");
            use(registry, "b");
            ResidentView again = ResidentView.of(registry, "a");
            assertNotSame(first.resident(), again.resident(), "the adapter was not read again");
            assertEquals(first.firstB(), again.firstB());
        }
    }

    /** The adapter in the slot acquired for {@code name}, and its first LoRA B value, read while pinned. */
    record ResidentView(ResidentAdapters.Resident resident, float firstB) {
        static ResidentView of(AdapterRegistry registry, String name) {
            int slot = registry.tryAcquire(name);
            try {
                var bypass = (LoraBypass) registry.slots().at(slot, 0, Projection.Q_PROJ);
                assertNotNull(bypass);
                return new ResidentView(registry.slots().get(slot), bypass.b().getFloat(0));
            } finally {
                registry.release(slot);
            }
        }
    }

    @Test
    void unregisteringAPinnedAdapterWaitsForItsLastRelease() {
        try (AdapterRegistry registry = bound(2, "a")) {
            int a = registry.tryAcquire("a");
            registry.unregister("a");
            assertThrows(UnknownAdapterException.class, () -> registry.tryAcquire("a"));
            assertEquals(List.of("a"), registry.resident());
            registry.register("a", LORA);
            int again = registry.tryAcquire("a");
            assertNotEquals(a, again, "a new registration is a new adapter");
            registry.release(a);
            assertEquals(List.of("a"), registry.resident());
            assertEquals(1, registry.pins("a"));
            registry.release(again);
        }
    }

    @Test
    void closingFreesWhatNothingPinsAndTheRestOnRelease() {
        AdapterRegistry registry = bound(2, "a", "b");
        int a = registry.tryAcquire("a");
        use(registry, "b");
        registry.close();
        assertEquals(List.of("a"), registry.resident());
        assertThrows(IllegalStateException.class, () -> registry.register("c", LORA));
        registry.release(a);
        assertEquals(List.of(), registry.resident());
    }

    /** Parameters of a fresh adapter of {@code config} for llama-gqa, as a finetuning job trains them. */
    private static List<Parameter> trainable(AdapterConfig config) {
        return AdapterInit.create(config, config(LLAMA), 1, Arena.ofAuto()).parameters(new CpuBackend(), Arena.ofAuto());
    }

    @Test
    void aTrainingAdapterHoldsItsSlotUntilReleasedAndNoRequestNamesIt() {
        AdapterConfig config = AdapterConfig.read(LORA);
        List<Parameter> parameters = trainable(config);
        try (AdapterRegistry registry = bound(2, "a", "b")) {
            use(registry, "a");
            AdapterRegistry.TrainingLease lease = registry.train("job", config, parameters, config(LLAMA));
            var bypass = (LoraBypass) registry.slots().at(lease.slot(), 0, Projection.Q_PROJ);
            assertSame(parameters.get(1), bypass.gradB(), "the ops add into the job's gradients");
            use(registry, "b");
            assertEquals(Set.of("b", "job"), Set.copyOf(registry.resident()));
            int b = registry.tryAcquire("b");
            assertEquals(AdapterHost.WAIT, registry.tryAcquire("a"));
            assertThrows(UnknownAdapterException.class, () -> registry.tryAcquire("job"));
            registry.release(b);
            int a = registry.tryAcquire("a");
            assertEquals(b, a, "a waited for b's slot, never for the job's");
            registry.release(a);
            lease.close();
            lease.close();
            assertEquals(List.of("a"), registry.resident());
        }
    }

    @Test
    void trainingNeedsTheRegistrysModelAFreeSlotAndARankWithinMaxRank() {
        AdapterConfig config = AdapterConfig.read(LORA);
        try (AdapterRegistry unbound = AdapterRegistry.create(1, 4)) {
            var error = assertThrows(IllegalStateException.class,
                    () -> unbound.train("job", config, trainable(config), config(LLAMA)));
            assertTrue(error.getMessage().contains("not bound to an engine"), error.getMessage());
        }
        try (AdapterRegistry registry = bound(1)) {
            assertThrows(IllegalStateException.class, () -> registry.train("job", config, trainable(config),
                    config(QWEN)));
            AdapterConfig wide = AdapterConfig.builder().r(8).loraAlpha(8).targets(config.targets()).build();
            var tooWide = assertThrows(RankTooLargeException.class,
                    () -> registry.train("wide", wide, trainable(wide), config(LLAMA)));
            assertTrue(tooWide.getMessage().contains("finetuning job 'wide': r = 8 exceeds the registry's maxRank 4"),
                    tooWide.getMessage());
            try (var first = registry.train("first", config, trainable(config), config(LLAMA))) {
                assertThrows(AdapterSlotsBusyException.class,
                        () -> registry.train("second", config, trainable(config), config(LLAMA)));
                assertEquals(List.of("first"), registry.resident());
            }
            assertEquals(List.of(), registry.resident());
        }
    }

    @Test
    void concurrentAcquiresAndReleasesKeepCountsExact() throws Exception {
        List<String> names = List.of("a", "b", "c");
        try (AdapterRegistry registry = bound(2, names.toArray(String[]::new))) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> workers = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    RandomGenerator random = RandomGeneratorFactory.of("L64X128MixRandom").create(w);
                    workers.add(pool.submit(() -> churn(registry, names, random)));
                }
                int served = 0;
                for (Future<Integer> worker : workers) {
                    served += worker.get(60, TimeUnit.SECONDS);
                }
                assertTrue(served > 0);
            } finally {
                pool.shutdownNow();
            }
            for (String name : names) {
                assertEquals(0, registry.pins(name), name);
            }
            assertTrue(registry.resident().size() <= 2);
        }
    }

    /** Pins and unpins random adapters; a pinned slot must hold the adapter asked for until released. */
    private static int churn(AdapterRegistry registry, List<String> names, RandomGenerator random) {
        int served = 0;
        for (int i = 0; i < 200; i++) {
            String name = names.get(random.nextInt(names.size()));
            int slot = registry.tryAcquire(name);
            if (slot == AdapterHost.WAIT) {
                Thread.yield();
                continue;
            }
            assertEquals(name, registry.slots().get(slot).name());
            Thread.onSpinWait();
            assertEquals(name, registry.slots().get(slot).name());
            registry.release(slot);
            served++;
        }
        return served;
    }
}
