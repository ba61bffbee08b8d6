package org.flexllm.model;

/**
 * Rotary position embedding frequencies, HF convention: dimension {@code i} of a head is rotated together
 * with dimension {@code i + headDim/2} ("rotate_half"), by the angle {@code position · invFreq[i]}.
 */
public final class Rope {
    private Rope() {}

    /** {@code invFreq[i] = theta^(-2i/headDim)}, adjusted by the config's scaling. */
    public static double[] inverseFrequencies(int headDim, double theta, RopeScaling scaling) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = scaled(StrictMath.pow(theta, -2.0 * i / headDim), scaling);
        }
        return inv;
    }

    private static double scaled(double inv, RopeScaling s) {
        return switch (s.type()) {
            case NONE -> inv;
            case LINEAR -> inv / s.factor();
            case LLAMA3 -> llama3(inv, s);
        };
    }

    /** Long wavelengths are stretched by the factor, short ones kept, the band between interpolated. */
    private static double llama3(double inv, RopeScaling s) {
        double wavelen = 2 * Math.PI / inv;
        double lowFreqWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highFreqWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        if (wavelen < highFreqWavelen) {
            return inv;
        }
        if (wavelen > lowFreqWavelen) {
            return inv / s.factor();
        }
        double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * inv / s.factor() + smooth * inv;
    }

    /**
     * cos and sin of every (position, frequency) pair below {@code maxPositions}, laid out
     * {@code [position][headDim/2]}, computed in double and rounded once.
     */
    public static RopeTable table(ModelConfig config, int maxPositions) {
        double[] inv = inverseFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling());
        float[] cos = new float[maxPositions * inv.length];
        float[] sin = new float[maxPositions * inv.length];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < inv.length; i++) {
                double angle = p * inv[i];
                cos[p * inv.length + i] = (float) StrictMath.cos(angle);
                sin[p * inv.length + i] = (float) StrictMath.sin(angle);
            }
        }
        return new RopeTable(inv.length, maxPositions, cos, sin);
    }

    /** Precomputed rotations; {@code half} frequencies per position. */
    public record RopeTable(int half, int maxPositions, float[] cos, float[] sin) {}
}
