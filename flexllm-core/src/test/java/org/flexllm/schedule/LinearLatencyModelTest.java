package org.flexllm.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.flexllm.schedule.LinearLatencyModel.Coefficients;
import org.flexllm.schedule.LinearLatencyModel.Observation;
import org.junit.jupiter.api.Test;

/** The latency model against machines whose true costs the test knows, with noise. */
class LinearLatencyModelTest {
    /** A machine: a SmolLM-like shape's costs on two slow cores (ms). */
    private static final Coefficients TRUTH = Coefficients.builder().iteration(0.3).pass(14).decodeToken(0.4)
            .prefillToken(2.2).finetuneToken(3).attentionKey(0.002).window(8).backwardLayer(1.5)
            .backwardLayerToken(0.18).build();

    /** An iteration of the kinds an engine runs: decodes, prefill chunks, windows and backward slices, mixed. */
    private static Composition randomIteration(Random random) {
        Composition c = Composition.EMPTY;
        int kind = random.nextInt(5);
        if (kind != 4) {
            int decodes = random.nextInt(17);
            c = c.plusDecode(decodes, (long) decodes * (1 + random.nextInt(400)));
        }
        if (kind == 1 || kind == 3 && random.nextBoolean()) {
            c = c.plusPrefill(random.nextInt(300), 1 + random.nextInt(128));
        }
        if (kind == 2 || kind == 3) {
            c = c.plusWindow(random.nextInt(200), 1 + random.nextInt(64));
        }
        if (kind >= 3) {
            c = c.withBackward(1 + random.nextInt(8), 16 + random.nextInt(240));
        }
        return c.isEmpty() ? c.plusDecode(1, 10) : c;
    }

    /** A profile like the engine's start-up one: each kind of work at two sizes, as {@code truth} costs it. */
    static List<Observation> profile(Coefficients truth) {
        List<Observation> profile = new ArrayList<>();
        for (Composition c : List.of(Composition.EMPTY.plusPrefill(0, 16), Composition.EMPTY.plusPrefill(0, 64),
                Composition.EMPTY.plusDecode(1, 65), Composition.EMPTY.plusDecode(4, 260),
                Composition.EMPTY.plusWindow(0, 1), Composition.EMPTY.plusWindow(1, 15),
                Composition.EMPTY.plusWindow(16, 48), Composition.EMPTY.withBackward(1, 64),
                Composition.EMPTY.withBackward(1, 16))) {
            profile.add(new Observation(c, truth.ms(c)));
        }
        return profile;
    }

    /** Measured = truth · (1 ± 5%), uniform. */
    private static double noisy(Coefficients truth, Composition c, Random random) {
        return truth.ms(c) * (0.95 + 0.1 * random.nextDouble());
    }

    static Coefficients scaled(Coefficients c, double factor) {
        double[] b = c.toArray();
        for (int i = 0; i < b.length; i++) {
            b[i] *= factor;
        }
        return Coefficients.of(b);
    }

    /** The 90th percentile of the relative error of the model's predictions over fresh iterations. */
    private static double p90Error(LatencyModel model, Coefficients truth, Random random) {
        double[] errors = new double[200];
        for (int i = 0; i < errors.length; i++) {
            Composition c = randomIteration(random);
            errors[i] = Math.abs(model.predictMs(c) - truth.ms(c)) / truth.ms(c);
        }
        java.util.Arrays.sort(errors);
        return errors[179];
    }

    @Test
    void recoversKnownCostsFromNoisyIterations() {
        Random random = new Random(1);
        LinearLatencyModel model = LinearLatencyModel.calibrated(profile(scaled(TRUTH, 1.6)));
        for (int i = 0; i < 2000; i++) {
            Composition c = randomIteration(random);
            model.observe(c, noisy(TRUTH, c, random));
        }
        double[] got = model.coefficients().toArray();
        double[] want = TRUTH.toArray();
        // An iteration's own cost, a pass's and a backward layer's are told apart only by the few iterations
        // without a forward pass (where the profile's fit weighs in): what every iteration pays is determined.
        assertEquals(want[0] + want[1], got[0] + got[1], 0.1 * (want[0] + want[1]), model.toString());
        for (int j = 2; j < want.length - 2; j++) {
            assertEquals(want[j], got[j], 0.15 * want[j], "coefficient " + j + ": " + model);
        }
        assertEquals(TRUTH.backwardLayerToken(), model.coefficients().backwardLayerToken(),
                0.1 * TRUTH.backwardLayerToken(), model.toString());
        assertTrue(p90Error(model, TRUTH, random) < 0.03, model.toString());
    }

    @Test
    void neverGoesNegativeWhateverItIsFed() {
        Random random = new Random(2);
        LinearLatencyModel model = LinearLatencyModel.calibrated(profile(TRUTH));
        for (int i = 0; i < 1000; i++) {
            Composition c = randomIteration(random);
            // Adversarial: the more work, the faster, with wild noise.
            model.observe(c, Math.max(0, 50 - 0.1 * c.forwardTokens() + 40 * random.nextGaussian()));
            for (double coefficient : model.coefficients().toArray()) {
                assertTrue(coefficient >= 0, model.toString());
            }
        }
        for (int i = 0; i < 100; i++) {
            assertTrue(model.predictMs(randomIteration(random)) >= 0);
        }
    }

    @Test
    void forgetsAnOldRegimeAndRecalibratesAfterTheMachineChangesSpeed() {
        for (double factor : new double[] {0.5, 2}) {
            Random random = new Random(3);
            LinearLatencyModel model = LinearLatencyModel.calibrated(profile(TRUTH));
            for (int i = 0; i < 500; i++) {
                Composition c = randomIteration(random);
                model.observe(c, noisy(TRUTH, c, random));
            }
            Coefficients now = scaled(TRUTH, factor);
            int recalibrated = -1;
            for (int i = 0; i < 1000 && recalibrated < 0; i++) {
                Composition c = randomIteration(random);
                model.observe(c, noisy(now, c, random));
                if (i % 10 == 9 && p90Error(model, now, new Random(i)) < 0.1) {
                    recalibrated = i + 1;
                }
            }
            assertTrue(recalibrated > 0 && recalibrated <= 300,
                    "×" + factor + ": p90 error under 10% after " + recalibrated + " iterations: " + model);
        }
    }

    @Test
    void theMarginCoversNearlyAllIterationsEvenWhenTheModelCannotBeExact() {
        Random random = new Random(4);
        LinearLatencyModel model = LinearLatencyModel.calibrated(profile(TRUTH));
        int covered = 0;
        int planned = 0;
        for (int i = 0; i < 3000; i++) {
            Composition c = randomIteration(random);
            // A machine the linear model cannot capture exactly: heavy-tailed noise and a nonlinear decode cost.
            double measured = noisy(TRUTH, c, random) + 0.01 * c.decodeTokens() * c.decodeTokens()
                    + (random.nextInt(50) == 0 ? 20 * random.nextDouble() : 0);
            if (i >= 200) {
                planned++;
                covered += measured <= model.boundMs(c) ? 1 : 0;
            }
            model.observe(c, measured);
        }
        double coverage = (double) covered / planned;
        assertTrue(coverage >= 0.93, "covered " + coverage + ", margin " + model.margin());
        assertTrue(model.margin() < 1.5, "a margin that covers without planning for the worst: " + model.margin());
        LatencyModel.Accuracy accuracy = model.accuracy();
        assertTrue(accuracy.p50Error() <= accuracy.p90Error() && accuracy.p90Error() < 0.5, accuracy.toString());
    }

    /**
     * A trace recorded by {@code bench coserve} on {@code synthetic:smollm-135m} on a 2-core machine (decodes,
     * prefill chunks, windows and backward slices, what each took), replayed: the model calibrated on its first
     * iterations, then each iteration's bound taken before the model sees what it took.
     */
    @Test
    void theMarginCoversARecordedTrace() throws Exception {
        List<Observation> trace = recordedTrace();
        int profiled = 20;
        LinearLatencyModel model = LinearLatencyModel.calibrated(trace.subList(0, profiled));
        int covered = 0;
        for (Observation o : trace.subList(profiled, trace.size())) {
            covered += o.ms() <= model.boundMs(o.composition()) ? 1 : 0;
            model.observe(o.composition(), o.ms());
        }
        double coverage = (double) covered / (trace.size() - profiled);
        assertTrue(coverage >= 0.95, "covered " + coverage + " of " + (trace.size() - profiled) + ": " + model);
    }

    private static List<Observation> recordedTrace() throws java.io.IOException {
        List<Observation> trace = new ArrayList<>();
        try (var in = LinearLatencyModelTest.class.getResourceAsStream("coserve-trace.csv")) {
            for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(",");
                var c = new Composition(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                        Long.parseLong(f[3]), Integer.parseInt(f[4]), Long.parseLong(f[5]));
                trace.add(new Observation(c, Double.parseDouble(f[6])));
            }
        }
        return trace;
    }

    @Test
    void aFixedModelNeitherLearnsNorWidens() {
        LinearLatencyModel model = LinearLatencyModel.fixed(TRUTH);
        Composition c = Composition.EMPTY.plusDecode(4, 100);
        for (int i = 0; i < 100; i++) {
            model.observe(c, 3 * TRUTH.ms(c));
        }
        double byHand = 0.3 + 14 + 4 * 0.4 + 100 * 0.002; // iteration, pass, 4 decodes, 100 keys of TRUTH
        assertEquals(byHand, model.predictMs(c), 1e-9);
        assertEquals(byHand, model.boundMs(c), 1e-9);
        assertEquals(2.0 / 3, model.accuracy().p90Error(), 1e-9, "its error is still reported");
    }

    @Test
    void negativeCostsAreRefused() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Coefficients.builder().decodeToken(-1).build());
    }
}
