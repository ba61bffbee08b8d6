package org.flexllm.backend;

import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.flexllm.FlexLlmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Finds backends by name, or the best one this machine can run. */
public final class Backends {
    /** The name that selects the highest-priority available backend. */
    public static final String AUTO = "auto";
    /**
     * The system property naming the backend of engines and finetuning jobs whose code names none (default
     * {@value #AUTO}); the command line's {@code --backend} sets it.
     */
    public static final String PROPERTY = "flexllm.backend";

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    /** Fallbacks already logged: every engine and rank creates a backend, the reason is worth one line. */
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

    private Backends() {}

    /** Every registered provider, highest priority first. */
    public static List<BackendProvider> providers() {
        return ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .sorted(Comparator.comparingInt(BackendProvider::priority).reversed()).toList();
    }

    /** The backend name of {@link #PROPERTY}, or {@value #AUTO}. */
    public static String defaultName() {
        String name = System.getProperty(PROPERTY, AUTO).strip();
        return name.isEmpty() ? AUTO : name;
    }

    /**
     * A new backend of the given name; {@code auto} falls back past backends this machine cannot run, saying why in
     * one log line.
     *
     * @throws BackendUnavailableException when the named backend cannot run here (the message says why)
     * @throws FlexLlmException            when no backend has that name
     */
    public static Backend create(String name) {
        BackendChoice choice = choose(name, providers());
        if (choice.fellBack() && LOGGED.add(choice.explanation())) {
            LOG.info("{}", choice.explanation());
        }
        return choice.chosen().create();
    }

    /**
     * Which of {@code providers} (highest priority first) {@code name} selects: the named one, available or not (its
     * {@link BackendProvider#create} then says why it cannot run), or for {@code auto} the first available one.
     *
     * @throws FlexLlmException when no provider has that name, or none is available for {@code auto}
     */
    public static BackendChoice choose(String name, List<BackendProvider> providers) {
        if (!name.equals(AUTO)) {
            return providers.stream().filter(p -> p.name().equals(name)).findFirst()
                    .map(p -> new BackendChoice(p, List.of()))
                    .orElseThrow(() -> new FlexLlmException("no backend named '" + name + "': choose " + AUTO
                            + " or one of " + providers.stream().map(BackendProvider::name).toList()));
        }
        for (int i = 0; i < providers.size(); i++) {
            if (providers.get(i).isAvailable()) {
                return new BackendChoice(providers.get(i), providers.subList(0, i));
            }
        }
        throw new BackendUnavailableException("no backend can run on this machine: " + providers.stream()
                .map(p -> p.name() + " (" + p.unavailableReason() + ")").toList());
    }
}
