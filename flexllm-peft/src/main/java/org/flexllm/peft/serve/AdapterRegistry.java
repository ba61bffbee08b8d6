package org.flexllm.peft.serve;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.AdapterSlotsBusyException;
import org.flexllm.api.UnknownAdapterException;
import org.flexllm.graph.GraphPass;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.ResidentAdapters;
import org.flexllm.peft.bypass.ResidentAdapters.Resident;
import org.flexllm.peft.parallel.RankAdapter;

/**
 * Serves many PEFT adapter folders, LoRA and IA3 mixed, from one engine; requests pick one by name.
 * <pre>{@code
 * try (AdapterRegistry adapters = AdapterRegistry.create(4, 16);
 *      LlmEngine engine = LlmEngine.builder().model(modelDir).adapters(adapters).build()) {
 *     adapters.register("sql", Path.of("adapters/sql-lora"));
 *     engine.generate(GenerationRequest.of("SELECT").withAdapter("sql"));
 * }
 * }</pre>
 *
 * <p><b>Checks.</b> {@link #register} refuses an adapter the engine's model or the compiled ops cannot
 * serve, with the exception that says why; serving goes on. Adapters registered before the engine is built are
 * checked when it binds the registry, and a misfit fails the build.
 *
 * <p><b>Residency.</b> At most {@code maxResident} adapters are in memory, one per slot. A request pins its
 * adapter's slot from submission to its end. Acquiring an adapter that is not resident reads it from its
 * folder into a free slot, or else into the slot of the least recently used adapter that nothing pins, which
 * is evicted; when every slot is pinned the request waits in the engine's queue until a slot drains for it
 * ({@link #tryAcquire}). Each
 * resident adapter's tensors live in an arena of their own, closed on eviction. A co-served finetuning job
 * holds a slot for its live adapter while it trains ({@link #train}).
 *
 * <p><b>Unregistering</b> takes effect at once for new requests; requests already running on the adapter
 * finish on it, and its memory is freed when the last of them ends. {@link #close} unregisters every adapter,
 * so closing before or after the engine is equally safe.
 *
 * <p><b>Tensor parallelism.</b> An engine whose model is split over ranks binds the registry through
 * {@link #passes(TensorParallelPlan, int)}: every resident adapter is then also cut into each rank's slices, as the
 * plan partitions each bypass op after its frozen Linear (all the served ops split: LoRA on any projection, IA3 on the
 * outputs of the column-parallel Linears and the inputs of the row-parallel ones), and a slot holds it on every rank
 * at once. A training job's slices gather gradients of their own, which its lease adds into the job's parameters
 * before each optimizer step ({@link TrainingLease#collectGradients}).
 *
 * <p>Thread-safe. Folders are read outside the lock, so that the engine thread's releases never wait on disk.
 */
public final class AdapterRegistry implements AdapterHost, AutoCloseable {
    /**
     * A registered adapter, compared by identity: registering a name again makes a new one. A training job's
     * adapter has one of its own that is never registered (and no folder), so no request finds it by name.
     */
    private record Registration(String name, Path folder) {}

    /**
     * A filled slot: whose adapter, its bypasses (whole, and by tensor-parallel rank), what eviction frees, how many
     * running requests (or the one finetuning job) pin it, and when it was last pinned.
     */
    private static final class Occupant {
        final Registration adapter;
        final Resident resident;
        final List<Resident> ranks;
        final Runnable free;
        int pins;
        long lastPinned;

        Occupant(Registration adapter, Resident resident, List<Resident> ranks, Runnable free) {
            this.adapter = adapter;
            this.resident = resident;
            this.ranks = ranks;
            this.free = free;
        }

        /** A finetuning job's slot, held until the job ends: never reserved for another adapter. */
        boolean training() {
            return adapter.folder() == null;
        }
    }

    private final ResidentAdapters slots;
    /** Each tensor-parallel rank's slots, by rank: empty unless a tensor-parallel engine bound the registry. */
    private final List<ResidentAdapters> rankSlots = new ArrayList<>();
    /** The bound engine's tensor-parallel plan, or null for an engine on one device. */
    private TensorParallelPlan plan;
    private final Occupant[] occupants;
    private final Map<String, Registration> registered = new HashMap<>();
    /** The adapter that waits longest for a slot, and the slot it will get once nothing pins it. */
    private Registration reservedFor;
    private int reservedSlot = -1;
    private ModelConfig model;
    private long clock;
    private boolean closed;

    private AdapterRegistry(int maxResident, int maxRank) {
        this.slots = new ResidentAdapters(maxResident, maxRank);
        this.occupants = new Occupant[maxResident];
    }

    /**
     * An empty registry.
     *
     * @param maxResident adapters in memory at once, hence also the most distinct adapters running at once
     * @param maxRank     the largest LoRA rank accepted (it sizes the low-rank activations of every forward pass)
     */
    public static AdapterRegistry create(int maxResident, int maxRank) {
        if (maxResident < 1 || maxRank < 1) {
            throw new IllegalArgumentException("maxResident and maxRank must be at least 1, were " + maxResident
                    + " and " + maxRank);
        }
        return new AdapterRegistry(maxResident, maxRank);
    }

    /**
     * Registers the adapter in {@code folder} under {@code name}, after checking it: its config, and once an
     * engine has bound the registry, its tensors against the engine's model.
     *
     * @throws org.flexllm.peft.InvalidAdapterConfigException   when {@code adapter_config.json} is missing or wrong
     * @throws org.flexllm.peft.UnsupportedAdapterException     when the adapter uses what cannot be served
     * @throws RankTooLargeException                           when its LoRA rank exceeds {@code maxRank}
     * @throws org.flexllm.peft.format.AdapterMismatchException when its tensors do not fit the model
     * @throws IllegalArgumentException                        when {@code name} is blank or already registered
     */
    public void register(String name, Path folder) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("an adapter needs a name that is not blank");
        }
        ServedModules.check(folder.toString(), AdapterConfig.read(folder), slots.maxRank());
        ModelConfig checkedAgainst;
        do {
            checkedAgainst = bound();
            if (checkedAgainst != null) {
                LoadedAdapter.read(name, folder, checkedAgainst, slots.maxRank()).close();
            }
        } while (!add(new Registration(name, folder), checkedAgainst));
    }

    /** Adds a registration checked against {@code checkedAgainst}; false if an engine bound the registry meanwhile. */
    private synchronized boolean add(Registration r, ModelConfig checkedAgainst) {
        if (closed) {
            throw new IllegalStateException("the adapter registry is closed");
        }
        if (model != checkedAgainst) {
            return false;
        }
        if (registered.containsKey(r.name())) {
            throw new IllegalArgumentException("adapter '" + r.name() + "' is already registered (from "
                    + registered.get(r.name()).folder() + "); unregister it first");
        }
        registered.put(r.name(), r);
        return true;
    }

    /**
     * Removes an adapter: new requests naming it are refused from now on, running ones finish on it, and its
     * memory is freed when the last of them ends.
     *
     * @throws UnknownAdapterException when no adapter of that name is registered
     */
    public synchronized void unregister(String name) {
        Registration r = registered.remove(name);
        if (r == null) {
            throw unknown(name);
        }
        if (r == reservedFor) {
            reservedFor = null;
            reservedSlot = -1;
        }
        int slot = slotOf(r);
        if (slot >= 0 && occupants[slot].pins == 0) {
            evict(slot);
        }
    }

    /** The registered adapters' names. */
    public synchronized Set<String> names() {
        return Set.copyOf(registered.keySet());
    }

    /** The names of the adapters in memory, in slot order (an unregistered one stays until its requests end). */
    public synchronized List<String> resident() {
        List<String> names = new ArrayList<>();
        for (Occupant o : occupants) {
            if (o != null) {
                names.add(o.adapter.name());
            }
        }
        return names;
    }

    /** How many running requests pin the registered adapter {@code name} (0 when it is not resident). */
    public synchronized int pins(String name) {
        Registration r = registered.get(name);
        int slot = r == null ? -1 : slotOf(r);
        return slot < 0 ? 0 : occupants[slot].pins;
    }

    /**
     * Binds the registry to the engine's model, checks the adapters registered so far against it, and returns
     * the pass that attaches the served bypass ops.
     *
     * @throws IllegalStateException when the registry is already bound to another model
     */
    @Override
    public List<GraphPass> passes(ModelConfig model) {
        bind(model, null);
        return List.of(ServedModules.pass(slots));
    }

    /**
     * Binds the registry to an engine whose model is split over {@code plan}'s ranks (at rank 0's call), checks the
     * adapters registered so far against the whole model, and returns the pass that attaches rank {@code rank}'s
     * share of the served bypass ops, over the rank's slices of the resident adapters.
     *
     * @throws IllegalStateException when the registry is already bound to another model or split
     */
    @Override
    public List<GraphPass> passes(TensorParallelPlan plan, int rank) {
        if (rank == 0) {
            bind(plan.model(), plan);
        }
        synchronized (this) {
            if (this.plan == null || this.plan.ranks() <= rank) {
                throw new IllegalStateException("rank " + rank + "'s passes asked before rank 0's bound the registry"
                        + " to " + plan.ranks() + " tensor-parallel ranks");
            }
            return List.of(ServedModules.pass(rankSlots.get(rank)));
        }
    }

    /** Binds the registry to {@code model}, split over {@code split}'s ranks (or not: null); checks what it holds. */
    private void bind(ModelConfig model, TensorParallelPlan split) {
        List<Registration> toCheck;
        synchronized (this) {
            if (this.model != null && !this.model.equals(model)) {
                throw new IllegalStateException("this adapter registry already serves another model ("
                        + this.model.architecture() + ", hidden_size " + this.model.hiddenSize()
                        + "); create one registry per model");
            }
            int ranks = split == null ? 1 : split.ranks();
            if (this.model != null && ranks != (plan == null ? 1 : plan.ranks())) {
                throw new IllegalStateException("this adapter registry already serves an engine on "
                        + (plan == null ? 1 : plan.ranks()) + " tensor-parallel ranks, not " + ranks
                        + "; create one registry per engine");
            }
            this.model = Objects.requireNonNullElse(this.model, model);
            if (split != null && plan == null) {
                plan = split;
                for (int r = 0; r < split.ranks(); r++) {
                    rankSlots.add(new ResidentAdapters(slots.capacity(), slots.maxRank()));
                }
            }
            toCheck = List.copyOf(registered.values());
        }
        toCheck.forEach(r -> LoadedAdapter.read(r.name(), r.folder(), model, slots.maxRank()).close());
    }

    @Override
    public synchronized void check(String name) {
        if (!registered.containsKey(name)) {
            throw unknown(name);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>A resident adapter is pinned at once, unless its slot is being emptied for an adapter that waits. An
     * adapter that is not resident goes into an empty slot, or the least recently pinned slot nothing pins. When
     * every slot is pinned, the first adapter to wait reserves the slot that the fewest requests pin (never a
     * training job's): that slot takes no new pins, and once its running requests have ended the adapter is
     * loaded into it. Adapters that come later wait until that reservation is used, so each waits its turn and
     * no running request is preempted.
     */
    @Override
    public int tryAcquire(String name) {
        Registration wanted;
        ModelConfig bound;
        TensorParallelPlan split;
        synchronized (this) {
            wanted = registered.get(name);
            if (wanted == null) {
                throw unknown(name);
            }
            int slot = slotOf(wanted);
            if (slot >= 0) {
                return slot == reservedSlot ? WAIT : pin(slot);
            }
            if (reservedFor != null && reservedFor != wanted || !hasRoomFor(wanted)) {
                return WAIT;
            }
            bound = Objects.requireNonNull(model, "no engine has bound this adapter registry yet");
            split = plan;
        }
        return install(wanted, LoadedAdapter.read(name, wanted.folder(), bound, slots.maxRank(), split));
    }

    /**
     * Whether a slot can take {@code wanted} now; if not, reserves one for it to drain (when no reservation
     * exists and a slot other than a training job's can be reserved).
     */
    private boolean hasRoomFor(Registration wanted) {
        if (reservedFor == wanted) {
            return occupants[reservedSlot] == null || occupants[reservedSlot].pins == 0;
        }
        for (Occupant o : occupants) {
            if (o == null || o.pins == 0) {
                return true;
            }
        }
        int drain = -1;
        for (int slot = 0; slot < occupants.length; slot++) {
            Occupant o = occupants[slot];
            if (!o.training() && (drain < 0 || o.pins < occupants[drain].pins)) {
                drain = slot;
            }
        }
        if (drain >= 0) {
            reservedSlot = drain;
            reservedFor = wanted;
        }
        return false;
    }

    /** Puts a freshly read adapter in a slot and pins it, unless it was unregistered or loaded meanwhile. */
    private synchronized int install(Registration wanted, LoadedAdapter loaded) {
        if (registered.get(wanted.name()) != wanted) {
            loaded.close();
            throw unknown(wanted.name());
        }
        int slot = slotOf(wanted);
        if (slot >= 0) {
            loaded.close();
            return pin(slot);
        }
        slot = reservedFor == wanted ? emptied(reservedSlot) : vacate();
        if (slot < 0) {
            // Others took the room while the folder was read: wait again.
            loaded.close();
            return WAIT;
        }
        if (reservedFor == wanted) {
            reservedFor = null;
            reservedSlot = -1;
        }
        return occupy(slot, new Occupant(wanted, loaded.resident(), loaded.ranks(), loaded::close));
    }

    /**
     * Puts a finetuning job's live adapter in a slot for as long as it trains: the engine runs the job's samples
     * on that slot and adds their gradients into {@code parameters}. The slot counts against {@code maxResident}
     * and stays pinned, never evicted, until the returned lease is closed. Requests cannot name the adapter
     * while it trains (its parameters change under them at every optimizer step); register its output folder
     * when the job is done to serve it. The job keeps owning the parameters' memory: free it after closing the
     * lease.
     *
     * @param job        the job's name, for messages and {@link #resident()}
     * @param config     the adapter's method, rank and targets
     * @param parameters its tensors (values and gradients) by PEFT key
     * @param model      the model the job trains, which must be the one this registry serves
     * @throws IllegalStateException       when no engine has bound this registry, one bound it to another model, or
     *                                     it is closed
     * @throws RankTooLargeException       when the adapter's LoRA rank exceeds {@code maxRank}
     * @throws org.flexllm.peft.UnsupportedAdapterException when its IA3 modules cannot be served
     * @throws AdapterSlotsBusyException   when every slot is pinned
     */
    public TrainingLease train(String job, AdapterConfig config, List<Parameter> parameters, ModelConfig model) {
        String source = "finetuning job '" + job + "'";
        ServedModules.check(source, config, slots.maxRank());
        synchronized (this) {
            if (closed || this.model == null || !this.model.equals(model)) {
                throw new IllegalStateException(source + " cannot train on this adapter registry: it is "
                        + (closed ? "closed" : this.model == null ? "not bound to an engine yet" : "bound to another"
                        + " model") + "; build the job's engine with adapters(registry) and train on its model");
            }
            int slot = vacate();
            if (slot < 0) {
                throw busy(source + " needs an adapter slot");
            }
            Resident resident = Resident.of(job, config, parameters, model);
            Arena slices = Arena.ofShared();
            List<RankAdapter> ranks = plan == null ? List.of() : RankAdapter.ofRanks(plan, config, parameters, slices);
            List<Resident> residents = ranks.stream().map(r -> r.resident(job, config, plan)).toList();
            Occupant o = new Occupant(new Registration(job, null), resident, residents, slices::close);
            return new TrainingLease(occupy(slot, o), ranks);
        }
    }

    /**
     * A finetuning job's hold on its adapter slot ({@link #train}); closing it frees the slot. Close it only
     * once no forward pass reads the slot any more (the engine has detached the job).
     */
    public final class TrainingLease implements AutoCloseable {
        private final int slot;
        private final List<RankAdapter> ranks;
        private boolean released;

        private TrainingLease(int slot, List<RankAdapter> ranks) {
            this.slot = slot;
            this.ranks = ranks;
        }

        /** The slot the job's samples run on. */
        public int slot() {
            return slot;
        }

        /**
         * Before an optimizer step, under tensor parallelism: adds what each rank's slices gathered of the gradients
         * into the job's parameters, rank by rank in rank order (the all-reduce of the replicated slices' partial
         * sums, and the assembly of the split ones, once per step), and zeroes the ranks'. Nothing on one device.
         * Call it where the job's parameters may change: between the engine's passes.
         */
        public void collectGradients() {
            ranks.forEach(RankAdapter::moveGradients);
        }

        /** After an optimizer step, under tensor parallelism: the parameters' new values copied into the ranks'. */
        public void refreshRanks() {
            ranks.forEach(RankAdapter::copyValues);
        }

        /** Empties the slot; idempotent. */
        @Override
        public void close() {
            synchronized (AdapterRegistry.this) {
                if (!released) {
                    released = true;
                    release(slot);
                }
            }
        }
    }

    @Override
    public synchronized void release(int slot) {
        Occupant o = slot >= 0 && slot < occupants.length ? occupants[slot] : null;
        if (o == null || o.pins == 0) {
            throw new IllegalStateException("adapter slot " + slot + " is not pinned");
        }
        o.pins--;
        if (o.pins == 0 && registered.get(o.adapter.name()) != o.adapter) {
            evict(slot);
        }
    }

    /** Unregisters every adapter; memory still pinned by running requests is freed when they end. */
    @Override
    public synchronized void close() {
        closed = true;
        registered.clear();
        reservedFor = null;
        reservedSlot = -1;
        for (int slot = 0; slot < occupants.length; slot++) {
            if (occupants[slot] != null && occupants[slot].pins == 0) {
                evict(slot);
            }
        }
    }

    /** The slots the bypass ops read. */
    ResidentAdapters slots() {
        return slots;
    }

    private synchronized ModelConfig bound() {
        return model;
    }

    private int occupy(int slot, Occupant occupant) {
        occupants[slot] = occupant;
        slots.set(slot, occupant.resident);
        for (int r = 0; r < rankSlots.size(); r++) {
            rankSlots.get(r).set(slot, occupant.ranks.get(r));
        }
        return pin(slot);
    }

    private AdapterSlotsBusyException busy(String what) {
        return new AdapterSlotsBusyException(what + " and all " + occupants.length + " adapter slots are pinned by"
                + " running requests or finetuning jobs; retry when one ends, or create the AdapterRegistry with more"
                + " resident adapters");
    }

    private int pin(int slot) {
        occupants[slot].pins++;
        occupants[slot].lastPinned = ++clock;
        return slot;
    }

    private int slotOf(Registration r) {
        for (int slot = 0; slot < occupants.length; slot++) {
            if (occupants[slot] != null && occupants[slot].adapter == r) {
                return slot;
            }
        }
        return -1;
    }

    /** The reserved slot emptied, or -1 while requests still pin it. */
    private int emptied(int slot) {
        if (occupants[slot] == null) {
            return slot;
        }
        if (occupants[slot].pins > 0) {
            return -1;
        }
        evict(slot);
        return slot;
    }

    /**
     * An empty slot, else the least recently pinned slot nothing pins (not one reserved for a waiting adapter),
     * emptied; -1 when every slot is pinned.
     */
    private int vacate() {
        int victim = -1;
        for (int slot = 0; slot < occupants.length; slot++) {
            Occupant o = occupants[slot];
            if (o == null) {
                return slot;
            }
            if (o.pins == 0 && slot != reservedSlot
                    && (victim < 0 || o.lastPinned < occupants[victim].lastPinned)) {
                victim = slot;
            }
        }
        if (victim >= 0) {
            evict(victim);
        }
        return victim;
    }

    /** Empties a slot no forward pass reads (nothing pins it) and frees its adapter's memory. */
    private void evict(int slot) {
        slots.set(slot, null);
        rankSlots.forEach(ranks -> ranks.set(slot, null));
        occupants[slot].free.run();
        occupants[slot] = null;
    }

    private static UnknownAdapterException unknown(String name) {
        return new UnknownAdapterException("no adapter named '" + name + "' is registered; register it with"
                + " AdapterRegistry.register(name, folder) first");
    }
}
