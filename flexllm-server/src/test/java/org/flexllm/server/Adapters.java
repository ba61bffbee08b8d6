package org.flexllm.server;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.init.AdapterInit;

/** Freshly initialised LoRA adapters written as PEFT folders, for tests that only need one to serve. */
final class Adapters {
    private Adapters() {}

    static Path write(Path folder, ModelConfig model) {
        AdapterConfig config = AdapterConfig.builder().r(4).loraAlpha(8).build();
        try (Arena arena = Arena.ofConfined()) {
            AdapterFolder.write(folder, AdapterInit.create(config, model, 1, arena));
        }
        return folder;
    }
}
