package org.flexllm.schedule;

import java.util.Arrays;
import java.util.List;

/**
 * An iteration's latency as a non-negative combination of what it computes ({@link Composition}): a cost per
 * iteration, per forward pass (the weights streamed), per decode, prefill and finetuning token (GEMM FLOPs), per
 * key of attention context, per finetuning window (its loss pass), per backward layer (its weights streamed) and
 * per backward layer-token.
 *
 * <p>{@link #calibrated} fits the coefficients to a start-up profile and keeps that fit as a prior: a weak pull
 * toward it, so that a kind of work the engine has not run lately keeps its profiled cost. Every observed iteration
 * refines the fit, older ones forgotten exponentially, so that the model follows the machine's current speed (a
 * warmer JIT, another process on the cores). The fit is a least-squares one under the constraint that no
 * coefficient is negative: a negative cost would let a degenerate fit promise free work.
 *
 * <p>No linear model is exact on a real machine, so the scheduler plans against {@link #boundMs}: the prediction
 * times a high quantile ({@value #QUANTILE}) of the ratio measured / predicted over the last {@value #RESIDUALS}
 * iterations. Not allocation-free in {@link #accuracy}, which is for reports; {@link #predictMs}, {@link #boundMs}
 * and {@link #observe} allocate nothing.
 */
public final class LinearLatencyModel implements LatencyModel {
    /** A measured profiling iteration. */
    public record Observation(Composition composition, double ms) {}

    /**
     * The cost of each unit of work, in milliseconds.
     *
     * @param iteration          every iteration (the loop's own cost)
     * @param pass               a forward pass: the weights streamed once
     * @param decodeToken        a decode token's GEMM work
     * @param prefillToken       a prefill token's GEMM work
     * @param finetuneToken      a finetuning window token's GEMM work and kept activations
     * @param attentionKey       one key read by one row's attention
     * @param window             a finetuning window's fixed cost (its loss pass through lm_head)
     * @param backwardLayer      a backward slice's layer: its weights streamed
     * @param backwardLayerToken one layer of backward for one token
     */
    public record Coefficients(double iteration, double pass, double decodeToken, double prefillToken,
                               double finetuneToken, double attentionKey, double window, double backwardLayer,
                               double backwardLayerToken) {
        public static final Coefficients ZERO = new Coefficients(0, 0, 0, 0, 0, 0, 0, 0, 0);

        public Coefficients {
            for (double c : new double[] {iteration, pass, decodeToken, prefillToken, finetuneToken, attentionKey,
                    window, backwardLayer, backwardLayerToken}) {
                if (!(c >= 0) || Double.isInfinite(c)) {
                    throw new IllegalArgumentException("latency coefficients must be finite and >= 0, got " + c);
                }
            }
        }

        double[] toArray() {
            return new double[] {iteration, pass, decodeToken, prefillToken, finetuneToken, attentionKey, window,
                    backwardLayer, backwardLayerToken};
        }

        static Coefficients of(double[] b) {
            return new Coefficients(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]);
        }

        /** Costs built by name; those not given are 0. */
        public static Builder builder() {
            return new Builder();
        }

        /** The latency of {@code c} under these costs. */
        public double ms(Composition c) {
            double[] x = new double[Composition.FEATURES];
            c.features(x);
            return dot(toArray(), x);
        }
    }

    /** Builds {@link Coefficients} by name. */
    public static final class Builder {
        private final double[] costs = new double[Composition.FEATURES];

        private Builder set(int feature, double ms) {
            costs[feature] = ms;
            return this;
        }

        public Builder iteration(double ms) { return set(0, ms); }
        public Builder pass(double ms) { return set(1, ms); }
        public Builder decodeToken(double ms) { return set(2, ms); }
        public Builder prefillToken(double ms) { return set(3, ms); }
        public Builder finetuneToken(double ms) { return set(4, ms); }
        public Builder attentionKey(double ms) { return set(5, ms); }
        public Builder window(double ms) { return set(6, ms); }
        public Builder backwardLayer(double ms) { return set(7, ms); }
        public Builder backwardLayerToken(double ms) { return set(8, ms); }

        public Coefficients build() {
            return Coefficients.of(costs);
        }
    }

    private static final int N = Composition.FEATURES;
    /** Each observation's weight decays by this per later observation: the last ~100 iterations count most. */
    private static final double FORGET = 0.99;
    /** How much the profile's fit weighs against fresh iterations, as a multiple of the profile's own evidence. */
    private static final double PRIOR_STRENGTH = 0.5;
    /**
     * An observation counts for at most this multiple of the prediction (plus {@link #OUTLIER_MS}): a pause of the
     * process (a GC, another program) must not teach the model that a kind of work is slow. A real slow-down of
     * the machine passes (it is far below this), and the margin covers the rest.
     */
    private static final double OUTLIER = 3;
    private static final double OUTLIER_MS = 5;
    /** The quantile of measured / predicted that {@link #boundMs} plans with. */
    static final double QUANTILE = 0.95;
    /** Iterations whose residuals the margin is taken over. */
    static final int RESIDUALS = 200;
    /** Before this many residuals, the margin is {@link #START_MARGIN}. */
    private static final int MIN_RESIDUALS = 20;
    private static final double START_MARGIN = 1.25;
    private static final double MIN_MARGIN = 0.8;
    private static final double MAX_MARGIN = 4;
    private static final int SWEEPS = 100;

    private final boolean learns;
    private final double[] prior;
    private final double[] priorWeight;
    private final double[][] xtx = new double[N][N];
    private final double[] xty = new double[N];
    private final double[] beta;
    private final double[] x = new double[N];
    private final double[][] system = new double[N][N];
    private final double[] rhs = new double[N];
    private final double[] ratios = new double[RESIDUALS];
    private final double[] errors = new double[RESIDUALS];
    private final double[] sorted = new double[RESIDUALS];
    private long observed;
    private double margin;

    private LinearLatencyModel(double[] prior, double[] priorWeight, boolean learns) {
        this.prior = prior;
        this.priorWeight = priorWeight;
        this.beta = prior.clone();
        this.learns = learns;
        this.margin = learns ? START_MARGIN : 1;
    }

    /**
     * A model that never changes: the costs given, no margin (its {@link #accuracy} still reports what it
     * observes).
     */
    public static LinearLatencyModel fixed(Coefficients costs) {
        return new LinearLatencyModel(costs.toArray(), new double[N], false);
    }

    /** A model fitted to a profile and refined online from every {@link #observe}d iteration. */
    public static LinearLatencyModel calibrated(List<Observation> profile) {
        double[][] a = new double[N][N];
        double[] b = new double[N];
        double[] x = new double[N];
        for (Observation o : profile) {
            o.composition().features(x);
            accumulate(a, b, x, o.ms(), 1);
        }
        double[] weight = new double[N];
        for (int j = 0; j < N; j++) {
            weight[j] = PRIOR_STRENGTH * a[j][j];
            a[j][j] *= 1 + 1e-9;
        }
        double[] fit = new double[N];
        nonNegativeLeastSquares(a, b, fit);
        return new LinearLatencyModel(fit, weight, true);
    }

    @Override
    public double predictMs(Composition c) {
        c.features(x);
        return dot(beta, x);
    }

    /** The prediction times the margin: a latency that {@value #QUANTILE} of recent iterations stayed under. */
    @Override
    public double boundMs(Composition c) {
        return predictMs(c) * margin;
    }

    @Override
    public void observe(Composition c, double measuredMs) {
        if (!Double.isFinite(measuredMs) || measuredMs < 0) {
            return;
        }
        double predicted = predictMs(c);
        recordResidual(predicted, measuredMs);
        if (learns) {
            forget();
            double clipped = predicted > 0 ? Math.min(measuredMs, OUTLIER * predicted + OUTLIER_MS) : measuredMs;
            c.features(x);
            accumulate(xtx, xty, x, clipped, 1);
            refit();
        }
    }

    private void recordResidual(double predicted, double measured) {
        int at = (int) (observed % RESIDUALS);
        ratios[at] = predicted > 0 ? measured / predicted : MAX_MARGIN;
        errors[at] = measured > 0 ? Math.abs(measured - predicted) / measured : 0;
        observed++;
        int n = (int) Math.min(observed, RESIDUALS);
        if (learns && n >= MIN_RESIDUALS) {
            margin = Math.clamp(quantile(ratios, n, QUANTILE, sorted), MIN_MARGIN, MAX_MARGIN);
        }
    }

    private void forget() {
        for (int i = 0; i < N; i++) {
            xty[i] *= FORGET;
            for (int j = 0; j < N; j++) {
                xtx[i][j] *= FORGET;
            }
        }
    }

    /** Solves the prior-regularized, non-negative least squares over the forgotten observations. */
    private void refit() {
        for (int i = 0; i < N; i++) {
            System.arraycopy(xtx[i], 0, system[i], 0, N);
            system[i][i] += priorWeight[i];
            rhs[i] = xty[i] + priorWeight[i] * prior[i];
        }
        nonNegativeLeastSquares(system, rhs, beta);
    }

    /**
     * Minimizes {@code ½βᵀAβ − bᵀβ} over {@code β ≥ 0} by cyclic coordinate descent from {@code beta} (the last
     * fit: a warm start, so a few sweeps suffice per observation). Each step minimizes exactly along one
     * coefficient, so the features' magnitudes (tokens vs keys of context) do not matter. A feature with no
     * evidence at all keeps its cost.
     */
    private static void nonNegativeLeastSquares(double[][] a, double[] b, double[] beta) {
        for (int sweep = 0; sweep < SWEEPS; sweep++) {
            double change = 0;
            for (int j = 0; j < N; j++) {
                if (!(a[j][j] > 0)) {
                    continue;
                }
                double r = b[j];
                for (int k = 0; k < N; k++) {
                    r -= k == j ? 0 : a[j][k] * beta[k];
                }
                double next = Math.max(0, r / a[j][j]);
                change = Math.max(change, Math.abs(next - beta[j]) * Math.sqrt(a[j][j]));
                beta[j] = next;
            }
            if (change < 1e-12) {
                return;
            }
        }
    }

    private static void accumulate(double[][] a, double[] b, double[] x, double y, double weight) {
        for (int i = 0; i < N; i++) {
            b[i] += weight * x[i] * y;
            for (int j = 0; j < N; j++) {
                a[i][j] += weight * x[i] * x[j];
            }
        }
    }

    private static double dot(double[] beta, double[] x) {
        double ms = 0;
        for (int j = 0; j < N; j++) {
            ms += beta[j] * x[j];
        }
        return ms;
    }

    /** The {@code q}-quantile of the first {@code n} values, sorted in {@code scratch} (no allocation). */
    private static double quantile(double[] values, int n, double q, double[] scratch) {
        System.arraycopy(values, 0, scratch, 0, n);
        Arrays.sort(scratch, 0, n);
        return scratch[Math.min(n - 1, (int) Math.ceil(q * n) - 1)];
    }

    @Override
    public Accuracy accuracy() {
        int n = (int) Math.min(observed, RESIDUALS);
        if (n == 0) {
            return new Accuracy(0, Double.NaN, Double.NaN, margin);
        }
        double[] scratch = new double[n];
        return new Accuracy(observed, quantile(errors, n, 0.5, scratch), quantile(errors, n, 0.9, scratch), margin);
    }

    /** The current costs. */
    public Coefficients coefficients() {
        return Coefficients.of(beta);
    }

    public double margin() {
        return margin;
    }

    @Override
    public String toString() {
        return "LinearLatencyModel" + coefficients() + " margin " + margin;
    }
}
