package org.flexllm.schedule;

import java.util.Arrays;
import java.util.List;

/**
 * An iteration's latency as a linear function of its {@link Composition}: a fixed cost (streaming the
 * weights) plus a cost per decode token, per token of decode context, per prefill token, per finetuning window
 * and per token of it, and per backward layer-token. {@link #calibrated} fits it to a profiling run and refines it
 * from every observed iteration: a least-squares fit over the profile (never forgotten, so every feature stays
 * determined) and recent iterations (weighted by recency, so the model follows the machine's current speed).
 */
public final class LinearLatencyModel implements LatencyModel {
    /** A measured (or, for what the profile cannot run, estimated) iteration. */
    public record Observation(Composition composition, double ms) {}

    private static final int FEATURES = 7;
    /** Each observation's weight decays by this per later observation: the last ~200 iterations count. */
    private static final double FORGET = 0.995;
    /**
     * An observation counts for at most this multiple of the prediction (plus {@link #OUTLIER_MS}): a pause of
     * the process (a GC, another program) must not teach the model that a kind of work is slow; work that is
     * slow raises the prediction over a few iterations all the same.
     */
    private static final double OUTLIER = 2;
    private static final double OUTLIER_MS = 10;
    /** A profile observation weighs as much as this many fresh iterations. */
    private static final double PROFILE_WEIGHT = 4;

    private final double[][] profileXtx = new double[FEATURES][FEATURES];
    private final double[] profileXty = new double[FEATURES];
    private final double[][] xtx = new double[FEATURES][FEATURES];
    private final double[] xty = new double[FEATURES];
    private final boolean learns;
    private double[] beta;

    private LinearLatencyModel(double[] beta, boolean learns) {
        this.beta = beta;
        this.learns = learns;
    }

    /**
     * A model that never changes: {@code ms = pass + perDecode·decodeTokens + perContext·decodeContext +
     * perPrefill·prefillTokens + perWindow·[a finetuning window] + perFinetune·finetuneTokens +
     * perBackward·backwardLayerTokens}.
     */
    public static LinearLatencyModel fixed(double pass, double perDecode, double perContext, double perPrefill,
                                           double perWindow, double perFinetune, double perBackward) {
        return new LinearLatencyModel(new double[] {pass, perDecode, perContext, perPrefill, perWindow, perFinetune,
                perBackward}, false);
    }

    /** A model fitted to a profile, refined online from every {@link #observe}d iteration. */
    public static LinearLatencyModel calibrated(List<Observation> profile) {
        LinearLatencyModel m = new LinearLatencyModel(new double[FEATURES], true);
        for (Observation o : profile) {
            accumulate(m.profileXtx, m.profileXty, o.composition().features(), o.ms(), PROFILE_WEIGHT);
        }
        m.refit();
        return m;
    }

    @Override
    public double predictMs(Composition c) {
        double[] x = c.features();
        double ms = 0;
        for (int j = 0; j < FEATURES; j++) {
            ms += beta[j] * x[j];
        }
        return Math.max(0, ms);
    }

    @Override
    public void observe(Composition c, double measuredMs) {
        if (!learns || !Double.isFinite(measuredMs)) {
            return;
        }
        for (int i = 0; i < FEATURES; i++) {
            xty[i] *= FORGET;
            for (int j = 0; j < FEATURES; j++) {
                xtx[i][j] *= FORGET;
            }
        }
        accumulate(xtx, xty, c.features(), Math.min(measuredMs, OUTLIER * predictMs(c) + OUTLIER_MS), 1);
        refit();
    }

    /** The current coefficients, in the order of {@link #fixed}. */
    public double[] coefficients() {
        return beta.clone();
    }

    private static void accumulate(double[][] xtx, double[] xty, double[] x, double y, double weight) {
        for (int i = 0; i < FEATURES; i++) {
            xty[i] += weight * x[i] * y;
            for (int j = 0; j < FEATURES; j++) {
                xtx[i][j] += weight * x[i] * x[j];
            }
        }
    }

    /** Solves the normal equations, each column scaled to unit norm first so the features' magnitudes do not matter. */
    private void refit() {
        double[][] a = new double[FEATURES][FEATURES + 1];
        double[] scale = new double[FEATURES];
        for (int i = 0; i < FEATURES; i++) {
            scale[i] = Math.sqrt(Math.max(profileXtx[i][i] + xtx[i][i], 1e-300));
        }
        for (int i = 0; i < FEATURES; i++) {
            for (int j = 0; j < FEATURES; j++) {
                a[i][j] = (profileXtx[i][j] + xtx[i][j]) / (scale[i] * scale[j]);
            }
            a[i][i] += 1e-9;
            a[i][FEATURES] = (profileXty[i] + xty[i]) / scale[i];
        }
        double[] solved = solve(a);
        for (int i = 0; i < FEATURES; i++) {
            solved[i] /= scale[i];
        }
        beta = solved;
    }

    /** Gaussian elimination with partial pivoting on an augmented matrix. */
    private static double[] solve(double[][] a) {
        int n = a.length;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                pivot = Math.abs(a[r][col]) > Math.abs(a[pivot][col]) ? r : pivot;
            }
            double[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            for (int r = col + 1; r < n; r++) {
                double f = a[r][col] / a[col][col];
                for (int c = col; c <= n; c++) {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
        double[] x = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double sum = a[r][n];
            for (int c = r + 1; c < n; c++) {
                sum -= a[r][c] * x[c];
            }
            x[r] = sum / a[r][r];
        }
        return x;
    }

    @Override
    public String toString() {
        return "LinearLatencyModel" + Arrays.toString(beta);
    }
}
