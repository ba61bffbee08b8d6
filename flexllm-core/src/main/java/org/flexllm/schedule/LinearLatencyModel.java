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
     * @param treeToken          a speculative tree node's GEMM work
     */
    public record Coefficients(double iteration, double pass, double decodeToken, double prefillToken,
                               double finetuneToken, double attentionKey, double window, double backwardLayer,
                               double backwardLayerToken, double treeToken) {
        public static final Coefficients ZERO = new Coefficients(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public Coefficients {
            for (double c : new double[] {iteration, pass, decodeToken, prefillToken, finetuneToken, attentionKey,
                    window, backwardLayer, backwardLayerToken, treeToken}) {
                if (!(c >= 0) || Double.isInfinite(c)) {
                    throw new IllegalArgumentException("latency coefficients must be finite and >= 0, got " + c);
                }
            }
        }

        double[] toArray() {
            return new double[] {iteration, pass, decodeToken, prefillToken, finetuneToken, attentionKey, window,
                    backwardLayer, backwardLayerToken, treeToken};
        }

        static Coefficients of(double[] b) {
            return new Coefficients(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]);
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
        public Builder treeToken(double ms) { return set(9, ms); }

        public Coefficients build() {
            return Coefficients.of(costs);
        }
    }

    private static final int N = Composition.FEATURES;
    /** Each observation's weight decays by this per later observation: the last ~100 iterations count most. */
    private static final double FORGET = 0.99;
    /**
     * How many iterations the profile's fit weighs as, against the ~{@code 1 / (1 - FORGET)} fresh ones the fit
     * remembers: enough to hold a kind of work the engine has not run lately, little enough that the machine's
     * current speed wins wherever it is observed.
     */
    private static final double PRIOR_ITERATIONS = 2;
    /**
     * An observation counts for at most this multiple of the prediction (plus {@link #OUTLIER_MS}): a pause of the
     * process (a GC, another program) must not teach the model that a kind of work is slow — one 400 ms hiccup
     * of a 70 ms iteration doubled the cost of the rare work in it for a dozen iterations. A real slow-down of the
     * machine is still learned, in steps of this factor, and the margin (taken from the unclipped ratios) covers
     * it meanwhile.
     */
    private static final double OUTLIER = 1.5;
    private static final double OUTLIER_MS = 2;
    /** The quantile of measured / predicted that {@link #boundMs} plans with. */
    static final double QUANTILE = 0.97;
    /** Iterations whose residuals the margin is taken over. */
    static final int RESIDUALS = 200;
    /** Before this many residuals, the margin is {@link #START_MARGIN}. */
    private static final int MIN_RESIDUALS = 20;
    private static final double START_MARGIN = 1.25;
    private static final double MIN_MARGIN = 0.8;
    private static final double MAX_MARGIN = 4;
    /** Iterations shorter than this weigh as much as one of this length: timer resolution and jitter. */
    private static final double MIN_WEIGHTED_MS = 0.5;

    private final boolean learns;
    private final double[] prior;
    /** Per feature, what one profile iteration says of it, in units of an iteration's weight. */
    private final double[] priorEvidence;
    /** The remembered iterations' weights, summed, and their count: the weight of an iteration now. */
    private double weightSum;
    private double countSum;
    private final double[][] xtx = new double[N][N];
    private final double[] xty = new double[N];
    private final double[] beta;
    private final double[] x = new double[N];
    private final double[][] system = new double[N][N];
    private final double[] rhs = new double[N];
    private final Workspace workspace = new Workspace();
    private final double[] ratios = new double[RESIDUALS];
    private final double[] errors = new double[RESIDUALS];
    private final double[] sorted = new double[RESIDUALS];
    private long observed;
    private double margin;

    private LinearLatencyModel(double[] prior, double[] priorEvidence, boolean learns) {
        this.prior = prior;
        this.priorEvidence = priorEvidence;
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
            accumulate(a, b, x, o.ms(), relativeWeight(o.ms()));
        }
        double[] fit = new double[N];
        double[][] system = new double[N][];
        for (int j = 0; j < N; j++) {
            system[j] = a[j].clone();
            system[j][j] *= 1 + 1e-9;
        }
        nonNegativeLeastSquares(system, b, fit, new Workspace());
        double meanWeight = 0;
        for (Observation o : profile) {
            meanWeight += relativeWeight(o.ms()) / profile.size();
        }
        // Per profile iteration, in units of an average profile iteration's weight.
        double[] evidence = new double[N];
        for (int j = 0; j < N; j++) {
            evidence[j] = profile.isEmpty() ? 0 : a[j][j] / profile.size() / meanWeight;
        }
        return new LinearLatencyModel(fit, evidence, true);
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
            double weight = relativeWeight(predicted > 0 ? predicted : measuredMs);
            accumulate(xtx, xty, x, clipped, weight);
            weightSum += weight;
            countSum++;
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
        weightSum *= FORGET;
        countSum *= FORGET;
        for (int i = 0; i < N; i++) {
            xty[i] *= FORGET;
            for (int j = 0; j < N; j++) {
                xtx[i][j] *= FORGET;
            }
        }
    }

    /**
     * Solves the non-negative least squares over the remembered iterations, with the profile's fit as a prior
     * worth {@link #PRIOR_ITERATIONS} iterations of today's weight (the machine may have slowed down since, and
     * each iteration weighs 1 / its latency²).
     */
    private void refit() {
        double iterationWeight = weightSum / countSum;
        for (int i = 0; i < N; i++) {
            double priorWeight = PRIOR_ITERATIONS * priorEvidence[i] * iterationWeight;
            System.arraycopy(xtx[i], 0, system[i], 0, N);
            system[i][i] += priorWeight;
            rhs[i] = xty[i] + priorWeight * prior[i];
        }
        nonNegativeLeastSquares(system, rhs, beta, workspace);
    }

    /**
     * Minimizes {@code ½βᵀAβ − bᵀβ} over {@code β ≥ 0} exactly (Lawson and Hanson's active set, on the normal
     * equations): coefficients join the free set while the gradient says they would lower the error, and leave it
     * when the unconstrained solution on the free set would make them negative. A feature with no evidence at all
     * keeps the cost it had.
     */
    private static void nonNegativeLeastSquares(double[][] a, double[] b, double[] beta, Workspace w) {
        boolean[] free = w.free;
        double scale = 0;
        for (int j = 0; j < N; j++) {
            free[j] = false;
            scale = Math.max(scale, Math.abs(b[j]));
            w.evidence[j] = a[j][j] > 0;
            if (w.evidence[j]) {
                beta[j] = 0;
            }
        }
        double tolerance = 1e-12 * Math.max(scale, Double.MIN_NORMAL);
        for (int round = 0; round < 3 * N; round++) {
            int entering = steepest(a, b, beta, w, tolerance);
            if (entering < 0) {
                return;
            }
            free[entering] = true;
            while (true) {
                solveFree(a, b, w);
                double step = 1;
                for (int j = 0; j < N; j++) {
                    if (free[j] && w.z[j] <= 0) {
                        step = Math.min(step, beta[j] / (beta[j] - w.z[j]));
                    }
                }
                for (int j = 0; j < N; j++) {
                    if (free[j]) {
                        beta[j] += step * (w.z[j] - beta[j]);
                        if (step < 1 && beta[j] <= tolerance) {
                            beta[j] = 0;
                            free[j] = false;
                        }
                    }
                }
                if (step == 1) {
                    break;
                }
            }
        }
    }

    /** The fixed coefficient whose increase would lower the error most, or -1 when none would. */
    private static int steepest(double[][] a, double[] b, double[] beta, Workspace w, double tolerance) {
        int best = -1;
        double bestGradient = tolerance;
        for (int j = 0; j < N; j++) {
            if (w.free[j] || !w.evidence[j]) {
                continue;
            }
            double g = b[j];
            for (int k = 0; k < N; k++) {
                g -= a[j][k] * beta[k];
            }
            if (g > bestGradient) {
                bestGradient = g;
                best = j;
            }
        }
        return best;
    }

    /** {@code z} = the solution of the free rows and columns of {@code A z = b}; 0 elsewhere. */
    private static void solveFree(double[][] a, double[] b, Workspace w) {
        int n = 0;
        for (int j = 0; j < N; j++) {
            if (w.free[j]) {
                w.index[n++] = j;
            }
        }
        double[][] m = w.system;
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < n; c++) {
                m[r][c] = a[w.index[r]][w.index[c]];
            }
            m[r][r] *= 1 + 1e-12;
            m[r][n] = b[w.index[r]];
        }
        gauss(m, n, w.solution);
        java.util.Arrays.fill(w.z, 0);
        for (int r = 0; r < n; r++) {
            w.z[w.index[r]] = w.solution[r];
        }
    }

    /** Solves the {@code n × n} system augmented by column {@code n}, by elimination with partial pivoting. */
    private static void gauss(double[][] m, int n, double[] x) {
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                pivot = Math.abs(m[r][col]) > Math.abs(m[pivot][col]) ? r : pivot;
            }
            double[] t = m[col];
            m[col] = m[pivot];
            m[pivot] = t;
            for (int r = col + 1; r < n; r++) {
                double f = m[r][col] / m[col][col];
                for (int c = col; c <= n; c++) {
                    m[r][c] -= f * m[col][c];
                }
            }
        }
        for (int r = n - 1; r >= 0; r--) {
            double sum = m[r][n];
            for (int c = r + 1; c < n; c++) {
                sum -= m[r][c] * x[c];
            }
            x[r] = sum / m[r][r];
        }
    }

    /** The solver's scratch, allocated once per model. */
    private static final class Workspace {
        final boolean[] free = new boolean[N];
        final boolean[] evidence = new boolean[N];
        final int[] index = new int[N];
        final double[][] system = new double[N][N + 1];
        final double[] solution = new double[N];
        final double[] z = new double[N];
    }

    /**
     * An iteration's weight in the fit: 1 / its latency², so that the fit minimizes relative error. A machine's
     * noise is roughly proportional to the work (a 200 ms prefill wanders by milliseconds, a 20 ms decode by a
     * fraction of one), and unweighted, the long iterations' noise would drown what the short ones say about the
     * per-token costs; relative error is also what the margin is made of.
     */
    private static double relativeWeight(double ms) {
        return 1 / Math.max(ms * ms, MIN_WEIGHTED_MS * MIN_WEIGHTED_MS);
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
