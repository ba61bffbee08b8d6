package org.flexllm.peft;

import java.util.Arrays;
import java.util.Collection;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import org.flexllm.graph.Projection;

/**
 * Module names as PEFT and our command line spell them, turned into {@link Projection}s: {@code q_proj} ...
 * {@code down_proj}, plus {@code all-linear} (PEFT's wildcard for every Linear but the output layer) and
 * {@code all} (ours), which both select the seven.
 */
public final class TargetModules {
    /** PEFT's wildcard for every Linear layer except the output layer. */
    public static final String ALL_LINEAR = "all-linear";
    /** The command line's shorthand for all seven projections. */
    public static final String ALL = "all";

    private TargetModules() {}

    /**
     * The projections named by a comma-separated list such as {@code q_proj,v_proj}, or {@code all} /
     * {@code all-linear}.
     *
     * @throws InvalidAdapterConfigException naming an unknown module and listing the valid ones
     */
    public static Set<Projection> parse(String commaSeparated) {
        String trimmed = commaSeparated.strip();
        if (trimmed.equals(ALL) || trimmed.equals(ALL_LINEAR)) {
            return EnumSet.allOf(Projection.class);
        }
        return of(Arrays.stream(trimmed.split(",")).map(String::strip).toList());
    }

    /**
     * The projections with these module names.
     *
     * @throws InvalidAdapterConfigException naming an unknown module and listing the valid ones
     */
    public static Set<Projection> of(Collection<String> moduleNames) {
        EnumSet<Projection> projections = EnumSet.noneOf(Projection.class);
        for (String name : moduleNames) {
            projections.add(projection(name));
        }
        return projections;
    }

    /**
     * The projection with this module name.
     *
     * @throws InvalidAdapterConfigException naming the module and listing the valid ones
     */
    public static Projection projection(String moduleName) {
        return Arrays.stream(Projection.values())
                .filter(p -> p.moduleName().equals(moduleName))
                .findFirst()
                .orElseThrow(() -> new InvalidAdapterConfigException("unknown target module '" + moduleName
                        + "' (valid: " + validNames() + ", or '" + ALL_LINEAR + "' for all of them)"));
    }

    private static String validNames() {
        return Arrays.stream(Projection.values()).map(Projection::moduleName).collect(Collectors.joining(", "));
    }
}
