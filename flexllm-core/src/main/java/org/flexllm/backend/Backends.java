package org.flexllm.backend;

import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import org.flexllm.FlexLlmException;

/** Finds backends by name, or the best one this machine can run. */
public final class Backends {
    /** The name that selects the highest-priority available backend. */
    public static final String AUTO = "auto";

    private Backends() {}

    public static List<BackendProvider> providers() {
        return ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .sorted(Comparator.comparingInt(BackendProvider::priority).reversed()).toList();
    }

    public static Backend create(String name) {
        List<BackendProvider> providers = providers();
        for (BackendProvider p : providers) {
            if ((name.equals(AUTO) || p.name().equals(name)) && p.isAvailable()) {
                return p.create();
            }
        }
        throw new FlexLlmException("no available backend named '" + name + "'; known: "
                + providers.stream().map(p -> p.name() + (p.isAvailable() ? "" : " (unavailable)")).toList());
    }
}
