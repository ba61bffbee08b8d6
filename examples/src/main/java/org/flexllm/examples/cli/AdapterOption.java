package org.flexllm.examples.cli;

import java.nio.file.Path;
import org.flexllm.api.EngineBuilder;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.serve.AdapterRegistry;
import picocli.CommandLine.Option;

/** {@code --adapter DIR}: run the model with one PEFT adapter folder (LoRA or IA3). */
final class AdapterOption {
    /** The name the one adapter of a run is registered and requested under. */
    private static final String NAME = "adapter";

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT adapter folder (adapter_config.json, adapter_model.safetensors; LoRA or IA3) to"
                    + " run the model with; it is checked against the model first.")
    private Path folder;

    /** A registry holding the adapter, checked against the model when the engine is built; null without one. */
    AdapterRegistry registry() {
        if (folder == null) {
            return null;
        }
        AdapterRegistry registry = AdapterRegistry.create(1, Math.max(1, AdapterConfig.read(folder).r()));
        registry.register(NAME, folder);
        return registry;
    }

    /** The builder, serving the registry's adapter when there is one. */
    static EngineBuilder serving(EngineBuilder builder, AdapterRegistry registry) {
        return registry == null ? builder : builder.adapters(registry);
    }

    /** The adapter name requests give, or null (the base model). */
    String name() {
        return folder == null ? null : NAME;
    }
}
