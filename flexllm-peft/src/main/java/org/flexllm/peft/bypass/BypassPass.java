package org.flexllm.peft.bypass;

import java.util.Set;
import org.flexllm.FlexLlmException;
import org.flexllm.graph.DecoderGraph;
import org.flexllm.graph.GraphPass;
import org.flexllm.graph.Op;
import org.flexllm.graph.Ops.Linear;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Value;
import org.flexllm.peft.AdapterConfig;

/**
 * Attaches bypass ops to the projections adapters may target: LoRA's shrink and expand after the Linear
 * (reading its input, adding into its output), IA3's scaling of its output, or of its input for a
 * feed-forward module. The base graph is otherwise untouched.
 *
 * @param slots          where the ops find the resident adapters' weights
 * @param lora           projections that get LoRA ops
 * @param ia3            projections that get IA3 ops
 * @param ia3FeedForward among {@code ia3}, those whose input is scaled
 */
public record BypassPass(ResidentAdapters slots, Set<Projection> lora, Set<Projection> ia3,
                         Set<Projection> ia3FeedForward) implements GraphPass {

    public BypassPass {
        lora = Set.copyOf(lora);
        ia3 = Set.copyOf(ia3);
        ia3FeedForward = Set.copyOf(ia3FeedForward);
    }

    /** The ops one adapter of {@code config} needs, reading from {@code slots}. */
    public static BypassPass forAdapter(ResidentAdapters slots, AdapterConfig config) {
        return switch (config.method()) {
            case LORA -> new BypassPass(slots, config.targets(), Set.of(), Set.of());
            case IA3 -> new BypassPass(slots, Set.of(), config.targets(), config.feedforwardModules());
        };
    }

    @Override
    public DecoderGraph apply(DecoderGraph graph) {
        DecoderGraph g = graph;
        for (Op op : graph.layer()) {
            if (op instanceof Linear linear) {
                g = attach(g, linear);
            }
        }
        return g;
    }

    private DecoderGraph attach(DecoderGraph g, Linear linear) {
        Projection p = linear.projection();
        if (lora.contains(p)) {
            Value xa = Value.perToken(p.moduleName() + ".lora_xa", slots.maxRank());
            g = g.insertAfter(linear, new LoraShrink(p, linear.in(), xa, slots), new LoraExpand(p, xa, linear.out(), slots));
        }
        if (ia3.contains(p) && ia3FeedForward.contains(p)) {
            requireSoleReader(g, linear);
            g = g.insertBefore(linear, new Ia3Scale(p, linear.in(), slots));
        } else if (ia3.contains(p)) {
            if (linear.accumulate()) {
                throw new FlexLlmException("IA3 cannot scale the output of " + p.moduleName()
                        + ": it is added straight into the residual stream; list it in feedforward_modules to scale"
                        + " its input instead");
            }
            g = g.insertAfter(linear, new Ia3Scale(p, linear.out(), slots));
        }
        return g;
    }

    /** Scaling an input in place is only the module's own business when no other op reads it. */
    private static void requireSoleReader(DecoderGraph g, Linear linear) {
        long readers = g.layer().stream().filter(op -> op instanceof Linear && op.reads().contains(linear.in())).count();
        if (readers > 1) {
            throw new FlexLlmException("IA3 cannot scale the input of " + linear.projection().moduleName()
                    + " as a feed-forward module: other projections read the same input");
        }
    }
}
