package org.flexllm.parallel;

import java.util.Set;
import java.util.stream.Collectors;
import org.flexllm.graph.Projection;

/**
 * The PEFT bypass ops a plan partitions: LoRA of rank {@code loraRank} on {@code lora}, IA3 scaling the output of
 * the projections in {@code ia3Output} and the input of those in {@code ia3Input}.
 */
public record BypassTargets(Set<Projection> lora, int loraRank, Set<Projection> ia3Output, Set<Projection> ia3Input) {
    /** No bypass ops: the base model alone. */
    public static final BypassTargets NONE = new BypassTargets(Set.of(), 0, Set.of(), Set.of());

    public BypassTargets {
        lora = Set.copyOf(lora);
        ia3Output = Set.copyOf(ia3Output);
        ia3Input = Set.copyOf(ia3Input);
    }

    /** LoRA of rank {@code rank} on {@code targets}. */
    public static BypassTargets lora(Set<Projection> targets, int rank) {
        return new BypassTargets(targets, rank, Set.of(), Set.of());
    }

    /** IA3 scaling the outputs of {@code targets}, but the inputs of those among {@code feedForward}. */
    public static BypassTargets ia3(Set<Projection> targets, Set<Projection> feedForward) {
        return new BypassTargets(Set.of(), 0,
                targets.stream().filter(p -> !feedForward.contains(p)).collect(Collectors.toSet()),
                targets.stream().filter(feedForward::contains).collect(Collectors.toSet()));
    }
}
