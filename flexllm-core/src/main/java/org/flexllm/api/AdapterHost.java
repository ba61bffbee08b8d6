package org.flexllm.api;

import java.util.List;
import org.flexllm.graph.GraphPass;
import org.flexllm.model.ModelConfig;

/**
 * The adapters (LoRA, IA3) an engine serves, as the engine sees them: the graph passes that attach their
 * bypass ops, and resident slots that requests pin while they run. The PEFT module implements it
 * ({@code org.flexllm.peft.serve.AdapterRegistry}); core knows adapters only through this interface.
 *
 * <p>The engine calls {@link #acquire} on the submitting thread when a request names an adapter, and
 * {@link #release} exactly once when that request ends for any reason (finished, cancelled, failed, engine
 * closed), on its own thread and only after the last forward pass that used the slot. So a slot with no pins
 * is not read by any pass in flight, and the host may refill it.
 */
public interface AdapterHost {
    /**
     * The passes that attach the adapters' bypass ops to the graph of {@code model}. Called once when the engine
     * compiles the model: the host binds to the model here and checks the adapters it already holds against it.
     */
    List<GraphPass> passes(ModelConfig model);

    /**
     * Pins the named adapter in a resident slot (loading it if needed) and returns the slot, which the
     * request's tokens carry through the forward passes. Thread-safe.
     *
     * @throws UnknownAdapterException when no adapter of that name is registered
     * @throws AdapterSlotsBusyException when the adapter is not resident and every slot is pinned by running
     *                                   requests
     */
    int acquire(String name);

    /** Unpins a slot {@link #acquire} returned; called once per acquire. */
    void release(int slot);
}
