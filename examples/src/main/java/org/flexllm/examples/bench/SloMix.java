package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.flexllm.api.Slo;

/**
 * The latency classes of a workload: each request draws one of {@code classes} with the matching share.
 *
 * @param classes the targets, e.g. one TTFT and three TPOTs
 * @param shares  per class its share of the requests; positive, summing to 1
 */
public record SloMix(List<Slo> classes, List<Double> shares) {
    public SloMix {
        classes = List.copyOf(classes);
        shares = List.copyOf(shares);
        if (classes.isEmpty() || classes.size() != shares.size()) {
            throw new IllegalArgumentException("--slo-mix needs one share per --slo-tpot-ms target, got "
                    + shares.size() + " shares for " + classes.size() + " targets");
        }
        double sum = 0;
        for (double share : shares) {
            if (!(share > 0)) {
                throw new IllegalArgumentException("--slo-mix shares must be positive, got " + shares);
            }
            sum += share;
        }
        if (Math.abs(sum - 1) > 1e-6) {
            throw new IllegalArgumentException("--slo-mix shares must sum to 1, got " + shares + " (" + sum + ")");
        }
    }

    /** Every request under {@code slo}. */
    public static SloMix of(Slo slo) {
        return new SloMix(List.of(slo), List.of(1.0));
    }

    /** One TTFT target and a TPOT target per class, with {@code shares}. */
    public static SloMix of(double ttftMs, List<Double> tpotMs, List<Double> shares) {
        List<Slo> classes = new ArrayList<>();
        for (double tpot : tpotMs) {
            classes.add(new Slo(ttftMs, tpot));
        }
        return new SloMix(classes, shares);
    }

    /** A class drawn by the shares; a single class draws nothing from {@code random}. */
    public Slo draw(RandomGenerator random) {
        if (classes.size() == 1) {
            return classes.get(0);
        }
        double u = random.nextDouble();
        for (int i = 0; i < classes.size() - 1; i++) {
            u -= shares.get(i);
            if (u < 0) {
                return classes.get(i);
            }
        }
        return classes.get(classes.size() - 1);
    }
}
