package org.flexllm.conformance;

import java.util.Arrays;
import java.util.List;
import org.flexllm.backend.BackendProvider;
import org.flexllm.backend.Backends;
import org.opentest4j.TestAbortedException;

/**
 * Which backends the suite runs against: every available one, or those named in the system property
 * {@value #PROPERTY} (comma-separated). A named backend this machine cannot run skips the suite with the reason,
 * so that a GPU module's build passes, skipped, where there is no GPU.
 */
public final class Conformance {
    /** The system property that restricts the suite to the named backends, e.g. {@code cuda}. */
    public static final String PROPERTY = "flexllm.conformance.backends";

    private Conformance() {}

    /**
     * The names of the backends to check: the argument source of every suite class. Named backends are returned
     * even when unavailable, so that each of their tests is reported skipped by {@link #assumeAvailable}.
     */
    public static List<String> backends() {
        String named = System.getProperty(PROPERTY, "").strip();
        if (named.isEmpty()) {
            return Backends.providers().stream().filter(BackendProvider::isAvailable).map(BackendProvider::name)
                    .toList();
        }
        return Arrays.stream(named.split(",")).map(String::strip).toList();
    }

    /** Skips the calling test, saying why, when this machine cannot run the named backend. */
    static void assumeAvailable(String name) {
        List<BackendProvider> providers = Backends.providers();
        if (providers.stream().noneMatch(p -> p.name().equals(name) && p.isAvailable())) {
            throw new TestAbortedException("backend '" + name + "' (" + PROPERTY + ") is not available on this "
                    + "machine; registered: " + providers.stream()
                    .map(p -> p.name() + (p.isAvailable() ? "" : " (unavailable: " + p.unavailableReason() + ")"))
                    .toList());
        }
    }
}
