package org.flexllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** Request arrivals drawn at random. */
public final class Workload {
    private Workload() {}

    /**
     * Poisson arrivals: exponential gaps of mean {@code 1 / rate} from time 0 until {@code durationS}, each with a
     * prompt and an output length drawn from their distributions. The same random state gives the same workload.
     *
     * @param rate requests per second
     */
    public static List<Arrival> poisson(double rate, double durationS, LogNormalLength prompt,
                                        LogNormalLength output, RandomGenerator random) {
        if (!(rate > 0) || !(durationS > 0)) {
            throw new IllegalArgumentException("Poisson arrivals need a positive rate and duration, not " + rate
                    + " requests/s for " + durationS + " s");
        }
        List<Arrival> arrivals = new ArrayList<>();
        for (double t = random.nextExponential() / rate; t < durationS; t += random.nextExponential() / rate) {
            arrivals.add(new Arrival(t, prompt.sample(random), output.sample(random)));
        }
        return List.copyOf(arrivals);
    }
}
