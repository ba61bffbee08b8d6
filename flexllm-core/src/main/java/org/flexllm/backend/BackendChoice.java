package org.flexllm.backend;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The backend a name selects ({@link Backends#choose}), with the higher-priority backends {@code auto} passed over
 * because this machine cannot run them.
 *
 * @param chosen     the provider that will create the backend
 * @param passedOver the unavailable providers of higher priority, best first; empty for an explicit name
 */
public record BackendChoice(BackendProvider chosen, List<BackendProvider> passedOver) {
    public BackendChoice {
        passedOver = List.copyOf(passedOver);
    }

    /** Whether {@code auto} fell back from a backend it would have preferred. */
    public boolean fellBack() {
        return !passedOver.isEmpty();
    }

    /** One line: what was chosen and why the better ones were not, e.g. for the log. */
    public String explanation() {
        if (!fellBack()) {
            return "backend " + chosen.name();
        }
        return "backend " + chosen.name() + ": " + passedOver.stream()
                .map(p -> p.name() + " is not available (" + p.unavailableReason() + ")")
                .collect(Collectors.joining("; "));
    }
}
