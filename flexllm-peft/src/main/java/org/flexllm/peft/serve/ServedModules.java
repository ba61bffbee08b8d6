package org.flexllm.peft.serve;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.Projection;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.UnsupportedAdapterException;
import org.flexllm.peft.bypass.BypassPass;
import org.flexllm.peft.bypass.ResidentAdapters;

/**
 * Where a registry attaches bypass ops, and which adapters fit them. The graph is compiled once, before any
 * adapter is known, so it gets every op an adapter could need: LoRA at all seven projections, and IA3
 * wherever {@link BypassPass} can scale: the outputs of q, k, v, gate and up (o and down add into the
 * residual stream) and the inputs of o and down (q, k, v and gate, up share their inputs). Ops of a slot's
 * absent bypasses do nothing.
 */
final class ServedModules {
    /** The projections whose IA3 vector scales the input: PEFT's feedforward_modules. */
    static final Set<Projection> IA3_INPUTS = EnumSet.of(Projection.O_PROJ, Projection.DOWN_PROJ);

    private ServedModules() {}

    static GraphPass pass(ResidentAdapters slots) {
        Set<Projection> all = EnumSet.allOf(Projection.class);
        return new BypassPass(slots, all, all, IA3_INPUTS);
    }

    /**
     * Checks that the ops of {@link #pass} can serve an adapter of {@code config}.
     *
     * @param source what the adapter is, for messages: its folder, or the finetuning job training it
     * @throws RankTooLargeException       when a LoRA rank exceeds {@code maxRank}
     * @throws UnsupportedAdapterException when an IA3 module is scaled on the side the ops cannot scale
     */
    static void check(String source, AdapterConfig config, int maxRank) {
        switch (config.method()) {
            case LORA -> {
                if (config.r() > maxRank) {
                    throw new RankTooLargeException(source, config.r(), maxRank);
                }
            }
            case IA3 -> config.targets().forEach(p -> checkIa3(source, config, p));
        }
    }

    private static void checkIa3(String source, AdapterConfig config, Projection p) {
        if (config.isFeedforward(p) && !IA3_INPUTS.contains(p)) {
            throw new UnsupportedAdapterException(source + ": IA3 lists " + p.moduleName() + " in feedforward_modules,"
                    + " but its input is shared with other projections and cannot be scaled for it alone (served"
                    + " feed-forward modules: " + names(IA3_INPUTS) + ")");
        }
        if (!config.isFeedforward(p) && IA3_INPUTS.contains(p)) {
            throw new UnsupportedAdapterException(source + ": IA3 targets " + p.moduleName() + " without listing it"
                    + " in feedforward_modules, which would scale its output, but that output is added straight into"
                    + " the residual stream; list it in feedforward_modules (served there: " + names(IA3_INPUTS) + ")");
        }
    }

    private static String names(Set<Projection> projections) {
        return projections.stream().map(Projection::moduleName).collect(Collectors.joining(", "));
    }
}
