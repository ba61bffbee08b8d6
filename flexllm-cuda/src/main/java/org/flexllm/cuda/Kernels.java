package org.flexllm.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;

/**
 * The kernels nvcc compiled from {@code src/main/cuda/flexllm_kernels.cu} into the jar's fatbin (sm_80, sm_90 and
 * compute_90 PTX), by the names the driver launches them with.
 */
public final class Kernels {
    /** The fatbin's resource path. */
    static final String RESOURCE = "/org/flexllm/cuda/flexllm_kernels.fatbin";
    /** The first bytes of a fatbin (its magic number, little-endian 0xBA55ED50). */
    static final byte[] MAGIC = {0x50, (byte) 0xED, 0x55, (byte) 0xBA};

    /** Every kernel of the fatbin. */
    public static final List<String> NAMES = List.of("flexllm_rms_norm", "flexllm_rms_norm_backward",
            "flexllm_swiglu", "flexllm_swiglu_backward", "flexllm_rope", "flexllm_embed", "flexllm_store_kv",
            "flexllm_copy_kv", "flexllm_attention", "flexllm_attention_backward_query",
            "flexllm_attention_backward_kv", "flexllm_add_bias", "flexllm_cross_entropy", "flexllm_adamw",
            "flexllm_sgd", "flexllm_dropout", "flexllm_axpy", "flexllm_mul_rows", "flexllm_mul_rows_scale_grad",
            "flexllm_gather_rows", "flexllm_shard_softmax", "flexllm_shard_cross_entropy", "flexllm_argmax");

    private Kernels() {}

    /** Whether the jar holds the fatbin (it was built with nvcc). */
    public static boolean present() {
        return Kernels.class.getResource(RESOURCE) != null;
    }

    /** The fatbin's bytes, or empty when the jar was built without nvcc. */
    public static Optional<byte[]> fatbin() {
        try (InputStream in = Kernels.class.getResourceAsStream(RESOURCE)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }
}
