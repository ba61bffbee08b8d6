package org.flexllm.model;

import org.flexllm.io.GgufFile;
import org.flexllm.io.GgufMetadata;
import org.flexllm.io.GgufMetadataException;
import org.flexllm.tensor.Tensor;

/**
 * The rotary scaling of a GGUF file. {@code ARCH.rope.scaling.type} linear takes {@code .factor}; llama3 (what
 * this library writes) takes {@code .factor}, {@code .low_freq_factor}, {@code .high_freq_factor} and
 * {@code .original_context_length}. llama.cpp's own Llama 3 files instead carry a {@code rope_freqs.weight}
 * tensor of per-frequency divisors; those are matched against Llama 3's published parameters (low 1, high 4,
 * the factor the divisors imply), which must reproduce every divisor.
 */
final class GgufRopeScaling {
    static final String FREQS_TENSOR = "rope_freqs.weight";
    static final double DEFAULT_LOW_FREQ_FACTOR = 1;
    static final double DEFAULT_HIGH_FREQ_FACTOR = 4;
    static final int DEFAULT_ORIGINAL_CONTEXT = 8192;
    private static final double TOLERANCE = 1e-3;

    private GgufRopeScaling() {}

    static RopeScaling read(GgufFile file, String arch, int headDim, double theta) {
        GgufMetadata m = file.metadata();
        String prefix = arch + ".rope.scaling.";
        String type = m.optionalString(prefix + "type").orElse("none");
        return switch (type) {
            case "none" -> file.get(FREQS_TENSOR).map(t -> fromDivisors(file, t, prefix, headDim, theta))
                    .orElse(RopeScaling.NONE);
            case "linear" -> RopeScaling.linear(number(m, prefix + "factor"));
            case "llama3" -> RopeScaling.llama3(number(m, prefix + "factor"), number(m, prefix + "low_freq_factor"),
                    number(m, prefix + "high_freq_factor"), m.intAtLeast(prefix + "original_context_length", 1));
            default -> throw new GgufMetadataException(file.path(), "key '" + prefix + "type' is '" + type
                    + "', which is not supported (supported: none, linear, llama3)");
        };
    }

    private static RopeScaling fromDivisors(GgufFile file, Tensor freqs, String prefix, int headDim, double theta) {
        float[] divisors = new float[Math.toIntExact(freqs.shape().elements())];
        float factor = 0;
        for (int i = 0; i < divisors.length; i++) {
            divisors[i] = freqs.getFloat(i);
            factor = Math.max(factor, divisors[i]);
        }
        int original = file.metadata().find(prefix + "original_context_length").isPresent()
                ? file.metadata().intAtLeast(prefix + "original_context_length", 1) : DEFAULT_ORIGINAL_CONTEXT;
        RopeScaling candidate = RopeScaling.llama3(factor, DEFAULT_LOW_FREQ_FACTOR, DEFAULT_HIGH_FREQ_FACTOR, original);
        double[] plain = Rope.inverseFrequencies(headDim, theta, RopeScaling.NONE);
        double[] scaled = Rope.inverseFrequencies(headDim, theta, candidate);
        if (divisors.length != plain.length) {
            throw new GgufMetadataException(file.path(), "tensor '" + FREQS_TENSOR + "' has " + divisors.length
                    + " divisors for " + plain.length + " rotary frequencies");
        }
        for (int i = 0; i < plain.length; i++) {
            if (Math.abs(plain[i] / scaled[i] - divisors[i]) > TOLERANCE * divisors[i]) {
                throw new GgufMetadataException(file.path(), "tensor '" + FREQS_TENSOR + "' divides frequency " + i
                        + " by " + divisors[i] + ", which Llama 3 rope scaling (factor " + factor + ", low 1, high 4,"
                        + " original context " + original + ") does not: only that scaling is supported");
            }
        }
        return candidate;
    }

    private static double number(GgufMetadata m, String key) {
        return m.optionalNumber(key)
                .orElseThrow(() -> new GgufMetadataException(m.file(), "key '" + key + "' is missing"));
    }
}
