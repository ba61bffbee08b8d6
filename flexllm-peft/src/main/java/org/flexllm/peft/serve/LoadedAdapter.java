package org.flexllm.peft.serve;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.bypass.ResidentAdapters.Resident;
import org.flexllm.peft.format.AdapterFolder;

/**
 * An adapter read from its folder for serving: its bypasses over f32 tensors held by an arena of its own,
 * which closing frees.
 */
record LoadedAdapter(Resident resident, Arena arena) implements AutoCloseable {

    /**
     * Reads and checks the adapter in {@code folder} against the model and the served modules.
     *
     * @throws org.flexllm.peft.format.AdapterMismatchException when its tensors do not fit the model
     * @throws RankTooLargeException                           when its rank exceeds {@code maxRank}
     * @throws org.flexllm.peft.UnsupportedAdapterException     when its IA3 modules cannot be served
     */
    static LoadedAdapter read(String name, Path folder, ModelConfig model, int maxRank) {
        Arena arena = Arena.ofShared();
        try {
            Adapter adapter = AdapterFolder.read(folder, model, arena);
            ServedModules.check(folder.toString(), adapter.config(), maxRank);
            return new LoadedAdapter(Resident.of(name, adapter.config(), frozen(adapter), model), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
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
