package org.flexllm.api;

import java.util.List;
import org.flexllm.graph.GraphPass;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.TensorParallelException;
import org.flexllm.parallel.TensorParallelPlan;

/**
 * The adapters (LoRA, IA3) an engine serves, as the engine sees them: the graph passes that attach their
 * bypass ops, and resident slots that requests pin while they run. The PEFT module implements it
 * ({@code org.flexllm.peft.serve.AdapterRegistry}); core knows adapters only through this interface.
 *
 * <p>The engine calls {@link #check} on the submitting thread when a request names an adapter, then
 * {@link #tryAcquire} on its own thread before the request's first iteration, again every iteration while it
 * answers {@link #WAIT}, and {@link #release} exactly once for every slot it got, when that request ends for
 * any reason (finished, cancelled, failed, engine closed), on its own thread and only after the last forward
 * pass that used the slot. So a slot with no pins is not read by any pass in flight, and the host may refill it.
 */
public interface AdapterHost {
    /** What {@link #tryAcquire} answers while the request must wait for a slot. */
    int WAIT = -1;

    /**
     * The passes that attach the adapters' bypass ops to the graph of {@code model}. Called once when the engine
     * compiles the model: the host binds to the model here and checks the adapters it already holds against it.
     */
    List<GraphPass> passes(ModelConfig model);

    /**
     * Rank {@code rank}'s passes when the engine's model is split over the ranks of {@code plan}: they attach the
     * rank's share of every bypass op, partitioned as the plan derives from the frozen Linear it attaches to, over
     * the rank's slices of the resident adapters (a slot holds an adapter on every rank at once). Called instead of
     * {@link #passes(ModelConfig)}, once per rank in rank order, when the engine compiles the ranks; the host binds
     * to {@code plan.model()} here.
     *
     * @throws TensorParallelException by default: a host that cannot split its adapters over ranks
     */
    default List<GraphPass> passes(TensorParallelPlan plan, int rank) {
        throw new TensorParallelException(getClass().getSimpleName() + " cannot split its adapters over "
                + plan.ranks() + " tensor-parallel ranks: serve them with tensorParallel(1), or use an adapter host"
                + " that implements passes(TensorParallelPlan, int) (the PEFT module's AdapterRegistry)");
    }

    /**
     * Whether a request may name this adapter: it is registered and could be made resident. Thread-safe.
     *
     * @throws UnknownAdapterException when no adapter of that name is registered
     */
    void check(String name);

    /**
     * Pins the named adapter in a resident slot (loading it if needed) and returns the slot, which the
     * request's tokens carry through the forward passes; or {@link #WAIT} when that must wait for running
     * requests to end (every slot is pinned, or the adapter's slot is being emptied for another adapter that
     * waits longer). A host that answers {@link #WAIT} must, without preempting anyone, eventually answer with a
     * slot for every adapter that keeps being asked for, in the order they started waiting. Thread-safe.
     *
     * @throws UnknownAdapterException when no adapter of that name is registered (any more)
     * @throws org.flexllm.FlexLlmException when the adapter cannot be loaded; the request fails with it
     */
    int tryAcquire(String name);

    /** Unpins a slot {@link #tryAcquire} returned; called once per slot returned. */
    void release(int slot);
}
