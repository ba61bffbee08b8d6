package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernels' per-element math (src/main/cuda/flexllm_math.cuh) compiled for the host by nvcc with the loops of
 * src/test/cuda/flexllm_math_host.cu, bound through FFM. Buffers are native segments laid out as the kernels'.
 */
final class HostMath {
    private static final Path HEADER = Path.of("src/main/cuda/flexllm_math.cuh");
    private static final Path SOURCE = Path.of("src/test/cuda/flexllm_math_host.cu");

    private final MethodHandle rmsNorm;
    private final MethodHandle rmsNormBackward;
    private final MethodHandle swiglu;
    private final MethodHandle swigluBackward;
    private final MethodHandle rope;
    private final MethodHandle crossEntropy;
    private final MethodHandle adamw;
    private final MethodHandle dropout;
    private final MethodHandle sgd;
    private final MethodHandle shardSoftmax;
    private final MethodHandle attentionBackward;
    private final MethodHandle shardCrossEntropy;

    private HostMath(NativeLibrary lib) {
        rmsNorm = lib.function("host_rms_norm", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_FLOAT));
        rmsNormBackward = lib.function("host_rms_norm_backward", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT));
        swiglu = lib.function("host_swiglu", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        swigluBackward = lib.function("host_swiglu_backward", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_LONG));
        rope = lib.function("host_rope", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_FLOAT));
        crossEntropy = lib.function("host_cross_entropy", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS, JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_FLOAT));
        adamw = lib.function("host_adamw", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG,
                JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT));
        attentionBackward = lib.function("host_attention_backward", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS));
        shardSoftmax = lib.function("host_shard_softmax", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        shardCrossEntropy = lib.function("host_shard_cross_entropy", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_FLOAT));
        sgd = lib.function("host_sgd", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_DOUBLE,
                JAVA_DOUBLE, JAVA_DOUBLE, JAVA_INT));
        dropout = lib.function("host_dropout", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_FLOAT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT));
    }

    /** Builds the library with nvcc (skipping the test where there is none) and binds it. */
    static HostMath load() {
        Path output = Path.of("target/kernel-math/libflexllm_math_host.so");
        Path library = NativeBuild.build(output, List.of(HEADER, SOURCE), List.of("nvcc", "-shared", "-O2",
                "-Xcompiler", "-fPIC", "-I", HEADER.getParent().toString(), "-o", output.toString(), SOURCE.toString()));
        return new HostMath(NativeLibrary.open(library));
    }

    void rmsNorm(MemorySegment x, MemorySegment weight, MemorySegment out, int rows, int width, float eps) {
        call(rmsNorm, x, weight, out, rows, width, eps);
    }

    void rmsNormBackward(MemorySegment x, MemorySegment dy, MemorySegment weight, MemorySegment dx, int rows,
                         int width, float eps) {
        call(rmsNormBackward, x, dy, weight, dx, rows, width, eps);
    }

    void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, long n) {
        call(swiglu, gate, up, out, n);
    }

    void swigluBackward(MemorySegment gate, MemorySegment up, MemorySegment dOut, MemorySegment dGate,
                        MemorySegment dUp, long n) {
        call(swigluBackward, gate, up, dOut, dGate, dUp, n);
    }

    void rope(MemorySegment x, MemorySegment positions, MemorySegment cos, MemorySegment sin, int rows, int heads,
              int half, float direction) {
        call(rope, x, positions, cos, sin, rows, heads, half, direction);
    }

    double crossEntropy(MemorySegment logits, int rows, int vocab, MemorySegment targets, float weight) {
        try {
            return (double) crossEntropy.invokeExact(logits, rows, vocab, targets, weight);
        } catch (Throwable t) {
            throw new AssertionError("host_cross_entropy", t);
        }
    }

    /** One AdamW step with torch's constants for step {@code t} (see flexllm_math.cuh's AdamWStep). */
    void adamw(MemorySegment value, MemorySegment grad, MemorySegment m, MemorySegment v, long n, double lr,
               double beta1, double beta2, double eps, double weightDecay, long t) {
        call(adamw, value, grad, m, v, n, (float) beta1, (float) beta2, (float) eps, (float) (1 - lr * weightDecay),
                (float) (lr / (1 - Math.pow(beta1, t))), (float) Math.sqrt(1 - Math.pow(beta2, t)));
    }

    /** See host_attention_backward in flexllm_math_host.cu; {@code p} and {@code ds} are its scratch. */
    void attentionBackward(MemorySegment q, MemorySegment dOut, MemorySegment keys, MemorySegment values,
                           MemorySegment table, int blockSize, int first, int n, int heads, int kvHeads, int headDim,
                           MemorySegment dq, MemorySegment dKeys, MemorySegment dValues, MemorySegment p,
                           MemorySegment ds) {
        call(attentionBackward, q, dOut, keys, values, table, blockSize, first, n, heads, kvHeads, headDim, dq, dKeys,
                dValues, p, ds);
    }

    void shardSoftmax(MemorySegment logits, int rows, int width, int valid, int first, MemorySegment targets,
                      MemorySegment stats) {
        call(shardSoftmax, logits, rows, width, valid, first, targets, stats);
    }

    double shardCrossEntropy(MemorySegment logits, int rows, int width, int valid, int rank, int ranks,
                             MemorySegment targets, MemorySegment gathered, float weight) {
        try {
            return (double) shardCrossEntropy.invokeExact(logits, rows, width, valid, rank, ranks, targets, gathered,
                    weight);
        } catch (Throwable t) {
            throw new AssertionError("host_shard_cross_entropy", t);
        }
    }

    /** One SGD step; {@code first}: the step that starts the momentum buffer. */
    void sgd(MemorySegment value, MemorySegment grad, MemorySegment buffer, long n, double lr, double momentum,
             double weightDecay, boolean first) {
        call(sgd, value, grad, buffer, n, lr, momentum, weightDecay, first ? 1 : 0);
    }

    void dropout(MemorySegment x, MemorySegment out, int rows, int width, float p, long seed, MemorySegment positions,
                 int firstRow, int firstColumn) {
        call(dropout, x, out, rows, width, p, seed, positions, firstRow, firstColumn);
    }

    private static void call(MethodHandle function, Object... args) {
        try {
            function.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new AssertionError("calling the host build of the kernels' math", t);
        }
    }
}
