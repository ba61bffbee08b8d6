package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * NCCL ({@code libnccl.so.2}) for tensor parallelism across GPUs: communicators for the GPUs of one process and
 * the all-reduce of partial sums.
 */
public final class Nccl {
    /** {@code ncclSuccess}. */
    private static final int SUCCESS = 0;
    /** {@code ncclFloat32} and {@code ncclSum}. */
    public static final int FLOAT32 = 7;
    public static final int SUM = 0;

    private final MethodHandle getVersion;
    private final MethodHandle getErrorString;
    private final MethodHandle commInitAll;
    private final MethodHandle commDestroy;
    private final MethodHandle allReduce;

    /**
     * Every function these bindings call with its C signature as FFM passes it (counts longs; device buffers,
     * communicators and streams addresses); LibrarySignaturesTest checks each against {@code nccl.h}.
     */
    static final Map<String, FunctionDescriptor> SIGNATURES = Map.of(
            "ncclGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS),
            "ncclGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT),
            "ncclCommInitAll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS),
            "ncclCommDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS),
            // sendbuff, recvbuff, count, datatype, op, comm, stream
            "ncclAllReduce", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                    ADDRESS, ADDRESS));

    private Nccl(NativeLibrary nccl) {
        getVersion = nccl.function("ncclGetVersion", SIGNATURES);
        getErrorString = nccl.function("ncclGetErrorString", SIGNATURES);
        commInitAll = nccl.function("ncclCommInitAll", SIGNATURES);
        commDestroy = nccl.function("ncclCommDestroy", SIGNATURES);
        allReduce = nccl.function("ncclAllReduce", SIGNATURES);
    }

    /** NCCL from the configured folders ({@link CudaLibraries}). */
    public static Nccl load() {
        return new Nccl(CudaLibraries.open(CudaLibraries.NCCL));
    }

    /** The library's version code (major·10000 + minor·100 + patch): callable without a GPU. */
    public int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check(Native.invokeInt(getVersion, value), "ncclGetVersion");
            return value.get(JAVA_INT, 0);
        }
    }

    /** The version as major.minor.patch, e.g. {@code 2.30.7}. */
    public String versionString() {
        int code = version();
        return code / 10000 + "." + code / 100 % 100 + "." + code % 100;
    }

    /** One communicator per GPU of {@code devices}, all in this process. */
    public MemorySegment[] initAll(int[] devices) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comms = arena.allocate(ADDRESS, devices.length);
            check(Native.invokeInt(commInitAll, comms, devices.length, arena.allocateFrom(JAVA_INT, devices)),
                    "ncclCommInitAll");
            MemorySegment[] out = new MemorySegment[devices.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = comms.getAtIndex(ADDRESS, i);
            }
            return out;
        }
    }

    /** Sums {@code count} f32 values across the communicator's ranks, in place when the buffers are one. */
    public void allReduceSum(long send, long receive, long count, MemorySegment comm, MemorySegment stream) {
        check(Native.invokeInt(allReduce, MemorySegment.ofAddress(send), MemorySegment.ofAddress(receive), count,
                FLOAT32, SUM, comm, stream), "ncclAllReduce");
    }

    public void destroy(MemorySegment comm) {
        check(Native.invokeInt(commDestroy, comm), "ncclCommDestroy");
    }

    private void check(int result, String call) {
        if (result != SUCCESS) {
            throw new CudaException(call + " failed: " + error(result) + " (" + result + ")");
        }
    }

    private String error(int result) {
        try {
            return ((MemorySegment) getErrorString.invokeExact(result)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "unknown error";
        }
    }
}
