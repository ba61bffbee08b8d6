package org.flexllm.api;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Metrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexllm.backend.Backend;
import org.flexllm.backend.Backends;
import org.flexllm.engine.CoServingEngine;
import org.flexllm.engine.EngineClock;
import org.flexllm.engine.IterationRecord;
import org.flexllm.engine.EngineConfig;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Pruning;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.BypassTargets;
import org.flexllm.parallel.CountingCommunicator;
import org.flexllm.parallel.TensorParallelException;
import org.flexllm.parallel.TensorParallelModel;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.schedule.LatencyModel;
import org.flexllm.schedule.Policy;
import org.flexllm.speculation.SpeculationTarget;
import org.flexllm.speculation.Speculator;
import org.flexllm.speculation.SpeculatorFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Configures and builds an {@link LlmEngine}. Every setting but the model has a default sized for a
 * workstation CPU.
 */
public final class EngineBuilder {
    /** Prefix of a model name that selects a random-weight model of a real shape, e.g. {@code synthetic:llama-1b}. */
    public static final String SYNTHETIC = LoadedModel.SYNTHETIC;

    /** Synthetic weights do not depend on the sampling seed: one name, one model. */
    private static final Logger LOG = LoggerFactory.getLogger(EngineBuilder.class);
    /** The longest a rank waits for the others in a collective: far beyond one layer's share of any pass. */
    private static final Duration RANK_DEADLINE = Duration.ofSeconds(60);
    /** Tensor-parallel groups built so far: tags each group's meters apart from another engine's. */
    private static final AtomicInteger GROUPS = new AtomicInteger();

    private String model;
    private String backend = Backends.defaultName();
    private int tokenBudget = 512;
    private int maxSequences = 64;
    private long kvCacheBytes = 1L << 30;
    private int blockSize = 16;
    private int maxModelLen = 8192;
    private long seed = 0;
    private AdapterHost adapters = NoAdapters.INSTANCE;
    private Policy policy = Policy.COSERVE;
    private Slo slo = new Slo(2000, 200);
    private int temporalEvery = 32;
    private double spatialShare = 0.25;
    private int maxFinetuneTokens = 512;
    private EngineClock clock = EngineClock.system();
    private LatencyModel latencyModel;
    private MeterRegistry meters = Metrics.globalRegistry;
    private Path traceFile;
    private final List<Consumer<IterationRecord>> iterationListeners = new ArrayList<>();
    private SpeculatorFactory speculation;
    private int tensorParallel = 1;

    EngineBuilder() {}

    /** A Hugging Face model folder. */
    public EngineBuilder model(Path folder) {
        this.model = folder.toString();
        return this;
    }

    /** A Hugging Face model folder, or {@code synthetic:NAME} (see {@link SyntheticModel#names()}). */
    public EngineBuilder model(String folderOrSynthetic) {
        this.model = folderOrSynthetic;
        return this;
    }

    /**
     * {@code cpu}, {@code cuda}, or {@code auto}: the best backend this machine can run, falling back to the CPU with
     * one log line saying why. Default: the system property {@value Backends#PROPERTY}, else {@code auto}.
     */
    public EngineBuilder backend(String name) {
        this.backend = name;
        return this;
    }

    /** The most tokens one iteration computes, decode and prefill together (default 512). */
    public EngineBuilder tokenBudget(int tokens) {
        this.tokenBudget = tokens;
        return this;
    }

    /** The most requests running at once (default 64). */
    public EngineBuilder maxSequences(int sequences) {
        this.maxSequences = sequences;
        return this;
    }

    /** Memory for the KV cache (default 1 GiB; never more than maxSequences full contexts need). */
    public EngineBuilder kvCacheBytes(long bytes) {
        this.kvCacheBytes = bytes;
        return this;
    }

    /** Tokens per KV-cache block (default 16). */
    public EngineBuilder blockSize(int tokens) {
        this.blockSize = tokens;
        return this;
    }

    /** The longest sequence, prompt and output, accepted (default 8192, capped by the model's context). */
    public EngineBuilder maxModelLen(int tokens) {
        this.maxModelLen = tokens;
        return this;
    }

    /** Seed of the random streams of requests that bring no seed of their own (default 0). */
    public EngineBuilder seed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * The adapters requests may name ({@link GenerationRequest#withAdapter}); without this call the engine
     * serves the base model only. The host stays the caller's to close.
     */
    public EngineBuilder adapters(AdapterHost host) {
        this.adapters = Objects.requireNonNull(host, "host");
        return this;
    }

    /** How iterations are shared between inference and finetuning jobs (default {@link Policy#COSERVE}). */
    public EngineBuilder policy(Policy policy) {
        this.policy = Objects.requireNonNull(policy, "policy");
        return this;
    }

    /** The latency targets of requests that bring none ({@link GenerationRequest#withSlo}); default 2 s TTFT, 200 ms TPOT. */
    public EngineBuilder slo(Slo slo) {
        this.slo = Objects.requireNonNull(slo, "slo");
        return this;
    }

    /** {@link Policy#TEMPORAL}: inference iterations between two whole finetuning samples (default 32). */
    public EngineBuilder temporalEvery(int iterations) {
        this.temporalEvery = iterations;
        return this;
    }

    /** {@link Policy#SPATIAL}: the share of every iteration's token budget reserved for finetuning (default 0.25). */
    public EngineBuilder spatialShare(double share) {
        this.spatialShare = share;
        return this;
    }

    /** The longest finetuning sample a job attached to this engine may have (default 512 tokens). */
    public EngineBuilder maxFinetuneTokens(int tokens) {
        this.maxFinetuneTokens = tokens;
        return this;
    }

    /** The clock latencies are measured with (default the system's; {@link EngineClock#simulated()} for tests). */
    public EngineBuilder clock(EngineClock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    /**
     * A latency model to schedule with, instead of the default one calibrated by a profiling run at start-up
     * and refined from every iteration. A fixed model with a simulated clock makes scheduling reproducible.
     */
    public EngineBuilder latencyModel(LatencyModel model) {
        this.latencyModel = Objects.requireNonNull(model, "model");
        return this;
    }

    /** Where per-request and per-job metrics go (default Micrometer's global registry). */
    public EngineBuilder meterRegistry(MeterRegistry registry) {
        this.meters = Objects.requireNonNull(registry, "registry");
        return this;
    }

    /** Writes the iteration trace to this file: one JSON object ({@link IterationRecord}) per line. */
    public EngineBuilder traceFile(Path file) {
        this.traceFile = Objects.requireNonNull(file, "file");
        return this;
    }

    /**
     * Speculative decoding: each iteration, {@code factory}'s speculator drafts a token tree per decoding request
     * and the engine verifies all of them in its one forward pass (see {@code flexllm-spec} for draft sources
     * and policies). Default: none.
     */
    public EngineBuilder speculation(SpeculatorFactory factory) {
        this.speculation = Objects.requireNonNull(factory, "factory");
        return this;
    }

    /**
     * Splits the model over {@code ranks} tensor-parallel ranks (default 1): each rank a backend of its own, with its
     * slice of the weights and of the KV heads, on its own thread; every iteration runs on all of them (see
     * {@link TensorParallelPlan} for the split, {@code flexllm explain} to print it). The KV-cache budget is per
     * rank. Adapters are split like the Linears they attach to, when the {@linkplain #adapters host} can
     * ({@link AdapterHost#passes(TensorParallelPlan, int)}), and finetuning jobs run their windows and backward
     * slices on every rank; speculative decoding verifies its trees on every rank (a draft model runs whole, on rank
     * 0's backend). Each rank's collectives are counted on the meter
     * registry ({@code flexllm.tp.collectives} and {@code flexllm.tp.communicated}, tagged by rank).
     *
     * @throws TensorParallelException at {@link #build()} when the model's heads or MLP do not split over the ranks
     */
    public EngineBuilder tensorParallel(int ranks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("tensor parallelism needs at least 1 rank, not " + ranks);
        }
        this.tensorParallel = ranks;
        return this;
    }

    /** Called on the engine thread after every iteration; must return quickly. */
    public EngineBuilder onIteration(Consumer<IterationRecord> listener) {
        iterationListeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Loads the model, compiles it onto the backend and starts the engine thread. The context limit is the
     * least of {@code maxModelLen}, the model's context and what the KV cache can hold for one sequence, so
     * that every accepted request can run to its end.
     */
    public LlmEngine build() {
        if (model == null) {
            throw new IllegalStateException("no model: call model(path) or model(\"synthetic:NAME\")");
        }
        config(kvCacheBytes, maxModelLen, policy); // validates early
        LoadedModel loaded = LoadedModel.open(model);
        if (tensorParallel > 1) {
            try {
                return new LlmEngine(startParallel(loaded), loaded.config());
            } catch (RuntimeException e) {
                closeQuietly(loaded.resources(), e);
                throw e;
            }
        }
        Backend b = null;
        try {
            b = Backends.create(backend);
            return new LlmEngine(start(loaded, b));
        } catch (RuntimeException e) {
            closeQuietly(b, e);
            closeQuietly(loaded.resources(), e);
            throw e;
        }
    }

    private CoServingEngine start(LoadedModel loaded, Backend b) {
        ModelConfig c = loaded.config();
        int wanted = Math.min(maxModelLen, c.maxPositionEmbeddings());
        long kvBytes = Math.min(kvCacheBytes, PagedKvCache.bytesPerToken(c) * (long) wanted * maxSequences);
        PagedKvCache kv = PagedKvCache.allocate(b, c, blockSize, kvBytes);
        EngineConfig config = config(kvBytes, contextLimit(wanted, kv, kvBytes), policy);
        CompiledModel compiled = CompiledModel.compile(b, c, loaded.weights(), adapters.passes(c),
                config.maxPassTokens(), Math.max(config.maxModelLen(), maxFinetuneTokens));
        Speculator speculator = speculation == null ? null
                : speculation.create(new SpeculationTarget(loaded, b, compiled, config.maxModelLen(),
                        config.maxSequences(), seed));
        return new CoServingEngine(compiled, kv, loaded.tokenizer(), config, adapters, loaded.resources(),
                instruments(), speculator);
    }

    /**
     * The engine over a model split over {@link #tensorParallel} ranks: rank 0's compiled model leads the others, its
     * cache is the one the engine allocates in, and closing the engine's weights closes the other ranks.
     */
    private CoServingEngine startParallel(LoadedModel loaded) {
        TensorParallelPlan plan = TensorParallelPlan.of(loaded.config(), tensorParallel, BypassTargets.NONE);
        ModelConfig c = plan.rankConfig();
        int wanted = Math.min(maxModelLen, c.maxPositionEmbeddings());
        long kvBytes = Math.min(kvCacheBytes, PagedKvCache.bytesPerToken(c) * (long) wanted * maxSequences);
        var settings = new TensorParallelModel.Settings(Pruning.PRUNED, config(kvBytes, wanted, policy).maxPassTokens(),
                Math.max(wanted, maxFinetuneTokens), blockSize, kvBytes, RANK_DEADLINE);
        TensorParallelModel ranks = TensorParallelModel.compile(plan, loaded.weights(), r -> Backends.create(backend),
                r -> adapters.passes(plan, r), settings);
        try {
            PagedKvCache kv = ranks.cache(0);
            EngineConfig config = config(kvBytes, contextLimit(wanted, kv, kvBytes), policy);
            meterCollectives(ranks);
            AutoCloseable weights = () -> {
                ranks.closeFollowers();
                loaded.resources().close();
            };
            CompiledModel leader = ranks.leader();
            // A draft model runs whole, on rank 0's backend, between the group's passes.
            Speculator speculator = speculation == null ? null
                    : speculation.create(new SpeculationTarget(loaded, leader.backend(), leader, config.maxModelLen(),
                            config.maxSequences(), seed));
            return new CoServingEngine(leader, kv, loaded.tokenizer(), config, adapters, weights, instruments(),
                    speculator);
        } catch (RuntimeException e) {
            ranks.close();
            throw e;
        }
    }

    /** Each rank's collectives and the bytes it contributed to them, tagged with the group and the rank. */
    private void meterCollectives(TensorParallelModel ranks) {
        String group = String.valueOf(GROUPS.incrementAndGet());
        for (int r = 0; r < ranks.plan().ranks(); r++) {
            CountingCommunicator c = ranks.communicator(r);
            Tags tags = Tags.of("group", group, "rank", String.valueOf(r));
            FunctionCounter.builder("flexllm.tp.collectives", c, CountingCommunicator::calls).tags(tags)
                    .description("collectives (all-reduce, all-gather, reduce-scatter) a tensor-parallel rank ran")
                    .register(meters);
            FunctionCounter.builder("flexllm.tp.communicated", c, x -> (double) x.floats() * Float.BYTES).tags(tags)
                    .baseUnit("bytes").description("bytes a tensor-parallel rank contributed to its collectives")
                    .register(meters);
        }
    }

    /** The least of what was asked and what the KV cache holds for one sequence. */
    private static int contextLimit(int wanted, PagedKvCache kv, long kvBytes) {
        int contextLimit = Math.min(wanted, kv.capacityTokens());
        if (contextLimit < wanted) {
            LOG.warn("the KV cache ({} bytes) holds {} tokens: sequences are limited to that, not {}", kvBytes,
                    contextLimit, wanted);
        }
        return contextLimit;
    }

    private CoServingEngine.Instruments instruments() {
        return new CoServingEngine.Instruments(clock, latencyModel, meters, traceFile, List.copyOf(iterationListeners));
    }

    private EngineConfig config(long kvBytes, int contextLimit, Policy policy) {
        return new EngineConfig(tokenBudget, maxSequences, kvBytes, blockSize, contextLimit, seed, policy, slo,
                temporalEvery, spatialShare, maxFinetuneTokens);
    }

    private static void closeQuietly(AutoCloseable resource, RuntimeException failure) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }

}
