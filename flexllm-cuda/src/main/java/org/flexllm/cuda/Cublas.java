package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * cuBLAS ({@code libcublas.so.13}) for the Linear layers: a handle bound to the engine's stream and
 * {@code cublasGemmEx}, whose mixed types take BF16/F16 weights with f32 activations and f32 accumulation.
 */
public final class Cublas {
    /** {@code CUBLAS_STATUS_SUCCESS}. */
    private static final int SUCCESS = 0;
    /** {@code MAJOR_VERSION}, {@code MINOR_VERSION}, {@code PATCH_LEVEL} of {@code libraryPropertyType}. */
    private static final int MAJOR_VERSION = 0;
    private static final int MINOR_VERSION = 1;
    private static final int PATCH_LEVEL = 2;

    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle getProperty;
    private final MethodHandle gemmEx;

    /**
     * Every function these bindings call, by the name the library exports, with its C signature as FFM passes it
     * (statuses and enums ints, the handle and scalars addresses); LibrarySignaturesTest checks each against
     * {@code cublas_api.h}.
     */
    static final Map<String, FunctionDescriptor> SIGNATURES = Map.of(
            "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS),
            "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS),
            "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
            "cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS),
            // handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, compute, algo
            "cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT));

    private Cublas(NativeLibrary cublas) {
        create = cublas.function("cublasCreate_v2", SIGNATURES);
        destroy = cublas.function("cublasDestroy_v2", SIGNATURES);
        setStream = cublas.function("cublasSetStream_v2", SIGNATURES);
        getProperty = cublas.function("cublasGetProperty", SIGNATURES);
        gemmEx = cublas.function("cublasGemmEx", SIGNATURES);
    }

    /** cuBLAS from the configured folders ({@link CudaLibraries}). */
    public static Cublas load() {
        return new Cublas(CudaLibraries.open(CudaLibraries.CUBLAS));
    }

    /** The library's major version (13): callable without a GPU. */
    public int majorVersion() {
        return property(MAJOR_VERSION);
    }

    /** The library's version, major.minor.patch: callable without a GPU. */
    public String version() {
        return property(MAJOR_VERSION) + "." + property(MINOR_VERSION) + "." + property(PATCH_LEVEL);
    }

    private int property(int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check(Native.invokeInt(getProperty, type, value), "cublasGetProperty");
            return value.get(JAVA_INT, 0);
        }
    }

    /** A handle whose work goes to {@code stream}; needs a current context. */
    public MemorySegment createHandle(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ADDRESS);
            check(Native.invokeInt(create, handle), "cublasCreate");
            MemorySegment h = handle.get(ADDRESS, 0);
            check(Native.invokeInt(setStream, h, stream), "cublasSetStream");
            return h;
        }
    }

    public void destroyHandle(MemorySegment handle) {
        check(Native.invokeInt(destroy, handle), "cublasDestroy");
    }

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C}, column-major as cuBLAS is; {@code alpha} and {@code beta} point to
     * host floats; the types are {@code cudaDataType} values, {@code compute} a {@code cublasComputeType_t}.
     */
    public void gemmEx(MemorySegment handle, int transA, int transB, int m, int n, int k, MemorySegment alpha,
                       long a, int aType, int lda, long b, int bType, int ldb, MemorySegment beta, long c, int cType,
                       int ldc, int compute) {
        check(Native.invokeInt(gemmEx, handle, transA, transB, m, n, k, alpha, MemorySegment.ofAddress(a), aType,
                lda, MemorySegment.ofAddress(b), bType, ldb, beta, MemorySegment.ofAddress(c), cType, ldc, compute,
                -1), "cublasGemmEx");
    }

    private static void check(int status, String call) {
        if (status != SUCCESS) {
            throw new CudaException(call + " failed with cublasStatus_t " + status);
        }
    }
}
