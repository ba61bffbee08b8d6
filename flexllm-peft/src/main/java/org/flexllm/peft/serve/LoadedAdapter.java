package org.flexllm.peft.serve;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.TensorParallelPlan;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.ResidentAdapters.Resident;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.parallel.RankAdapter;

/**
 * An adapter read from its folder for serving: its bypasses over f32 tensors held by an arena of its own,
 * which closing frees; under tensor parallelism also each rank's bypasses, over the rank's slices.
 *
 * @param ranks by rank, empty on one device
 */
record LoadedAdapter(Resident resident, List<Resident> ranks, Arena arena) implements AutoCloseable {

    /**
     * Reads and checks the adapter in {@code folder} against the model and the served modules.
     *
     * @throws org.flexllm.peft.format.AdapterMismatchException when its tensors do not fit the model
     * @throws RankTooLargeException                           when its rank exceeds {@code maxRank}
     * @throws org.flexllm.peft.UnsupportedAdapterException     when its IA3 modules cannot be served
     */
    static LoadedAdapter read(String name, Path folder, ModelConfig model, int maxRank) {
        return read(name, folder, model, maxRank, null);
    }

    /** As {@link #read(String, Path, ModelConfig, int)}, also cut into the slices of {@code plan}'s ranks (if any). */
    static LoadedAdapter read(String name, Path folder, ModelConfig model, int maxRank, TensorParallelPlan plan) {
        Arena arena = Arena.ofShared();
        try {
            Adapter adapter = AdapterFolder.read(folder, model, arena);
            ServedModules.check(folder.toString(), adapter.config(), maxRank);
            List<Parameter> whole = frozen(adapter);
            return new LoadedAdapter(Resident.of(name, adapter.config(), whole, model),
                    ranks(name, adapter.config(), whole, plan, arena), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Each rank's bypasses over its slices of {@code whole}, in {@code arena}; none without a plan. */
    private static List<Resident> ranks(String name, AdapterConfig config, List<Parameter> whole,
                                        TensorParallelPlan plan, Arena arena) {
        return plan == null ? List.of() : RankAdapter.ofRanks(plan, config, whole, arena).stream()
                .map(r -> r.resident(name, config, plan)).toList();
    }

    /** Serving takes no gradients: each parameter's gradient is empty, so that a write to one fails loudly. */
    private static List<Parameter> frozen(Adapter adapter) {
        return adapter.tensors().values().stream()
                .map(t -> new Parameter(t.name(), t.shape(), t.data(), MemorySegment.NULL)).toList();
    }

    @Override
    public void close() {
        arena.close();
    }
}
