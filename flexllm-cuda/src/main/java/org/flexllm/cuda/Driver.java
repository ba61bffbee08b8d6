package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CUDA driver API ({@code libcuda.so.1}) as far as the engine needs it: the device and its primary context,
 * streams, stream-ordered memory, copies, and modules with their kernels. Every call's {@code CUresult} is
 * checked; a failure is a {@link CudaException} naming the call and the error.
 */
public final class Driver {
    /** {@code CUDA_SUCCESS}. */
    private static final int SUCCESS = 0;

    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuInit;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuMemAllocAsync;
    private final MethodHandle cuMemFreeAsync;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoHAsync;
    private final MethodHandle cuModuleLoadData;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuGetErrorName;

    /**
     * Every function these bindings call, by the ABI-versioned name the library exports, with its C signature as FFM
     * passes it ({@code CUresult} and {@code CUdevice} ints, {@code CUdeviceptr} and {@code size_t} longs, handles
     * and out-parameters addresses); LibrarySignaturesTest checks each against {@code cuda.h}.
     */
    static final Map<String, FunctionDescriptor> SIGNATURES = signatures();

    private static Map<String, FunctionDescriptor> signatures() {
        FunctionDescriptor intOfAddress = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        Map<String, FunctionDescriptor> s = new LinkedHashMap<>();
        s.put("cuDriverGetVersion", intOfAddress);
        s.put("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        s.put("cuDeviceGetCount", intOfAddress);
        s.put("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        s.put("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        s.put("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        s.put("cuCtxSetCurrent", intOfAddress);
        s.put("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        s.put("cuStreamSynchronize", intOfAddress);
        s.put("cuMemAllocAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        s.put("cuMemFreeAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        s.put("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        s.put("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        s.put("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        s.put("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        // f, gridDimX..Z, blockDimX..Z, sharedMemBytes, hStream, kernelParams, extra
        s.put("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        s.put("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        return Collections.unmodifiableMap(s);
    }

    private Driver(NativeLibrary cuda) {
        cuDriverGetVersion = cuda.function("cuDriverGetVersion", SIGNATURES);
        cuInit = cuda.function("cuInit", SIGNATURES);
        cuDeviceGetCount = cuda.function("cuDeviceGetCount", SIGNATURES);
        cuDeviceGet = cuda.function("cuDeviceGet", SIGNATURES);
        cuDeviceGetName = cuda.function("cuDeviceGetName", SIGNATURES);
        cuDevicePrimaryCtxRetain = cuda.function("cuDevicePrimaryCtxRetain", SIGNATURES);
        cuCtxSetCurrent = cuda.function("cuCtxSetCurrent", SIGNATURES);
        cuStreamCreate = cuda.function("cuStreamCreate", SIGNATURES);
        cuStreamSynchronize = cuda.function("cuStreamSynchronize", SIGNATURES);
        cuMemAllocAsync = cuda.function("cuMemAllocAsync", SIGNATURES);
        cuMemFreeAsync = cuda.function("cuMemFreeAsync", SIGNATURES);
        cuMemcpyHtoDAsync = cuda.function("cuMemcpyHtoDAsync_v2", SIGNATURES);
        cuMemcpyDtoHAsync = cuda.function("cuMemcpyDtoHAsync_v2", SIGNATURES);
        cuModuleLoadData = cuda.function("cuModuleLoadData", SIGNATURES);
        cuModuleGetFunction = cuda.function("cuModuleGetFunction", SIGNATURES);
        cuLaunchKernel = cuda.function("cuLaunchKernel", SIGNATURES);
        cuGetErrorName = cuda.function("cuGetErrorName", SIGNATURES);
    }

    /** The driver of {@link CudaLibraries#driver()}, initialized. */
    public static Driver load() {
        Driver driver = bind(CudaLibraries.driver());
        driver.check(driver.init(), "cuInit");
        return driver;
    }

    /** The functions of {@code library}, not yet initialized; a {@link CudaException} names one it lacks. */
    static Driver bind(NativeLibrary library) {
        return new Driver(library);
    }

    /** The CUDA version the driver supports, 1000·major + 10·minor; callable before {@link #init}. */
    public int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment version = arena.allocate(JAVA_INT);
            check(call(cuDriverGetVersion, version), "cuDriverGetVersion");
            return version.get(JAVA_INT, 0);
        }
    }

    /** {@code cuInit(0)}'s {@code CUresult}, unchecked: the probe tells the failures apart. */
    int init() {
        return call(cuInit, 0);
    }

    /** The GPUs the driver sees. */
    public int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check(call(cuDeviceGetCount, count), "cuDeviceGetCount");
            return count.get(JAVA_INT, 0);
        }
    }

    /** Device {@code ordinal}'s handle. */
    public int device(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocate(JAVA_INT);
            check(call(cuDeviceGet, device, ordinal), "cuDeviceGet");
            return device.get(JAVA_INT, 0);
        }
    }

    public String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(256);
            check(call(cuDeviceGetName, name, 256, device), "cuDeviceGetName");
            return name.getString(0);
        }
    }

    /** Makes the device's primary context current on this thread; returns it. */
    public MemorySegment usePrimaryContext(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment context = arena.allocate(ADDRESS);
            check(call(cuDevicePrimaryCtxRetain, context, device), "cuDevicePrimaryCtxRetain");
            MemorySegment ctx = context.get(ADDRESS, 0);
            check(call(cuCtxSetCurrent, ctx), "cuCtxSetCurrent");
            return ctx;
        }
    }

    public MemorySegment createStream() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stream = arena.allocate(ADDRESS);
            check(call(cuStreamCreate, stream, 0), "cuStreamCreate");
            return stream.get(ADDRESS, 0);
        }
    }

    public void synchronize(MemorySegment stream) {
        check(call(cuStreamSynchronize, stream), "cuStreamSynchronize");
    }

    /** {@code bytes} of device memory, stream-ordered; the device pointer. */
    public long allocate(long bytes, MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(JAVA_LONG);
            check(call(cuMemAllocAsync, pointer, bytes, stream), "cuMemAllocAsync(" + bytes + " bytes)");
            return pointer.get(JAVA_LONG, 0);
        }
    }

    public void free(long pointer, MemorySegment stream) {
        check(call(cuMemFreeAsync, pointer, stream), "cuMemFreeAsync");
    }

    public void copyToDevice(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        check(call(cuMemcpyHtoDAsync, dst, src, bytes, stream), "cuMemcpyHtoDAsync");
    }

    public void copyToHost(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        check(call(cuMemcpyDtoHAsync, dst, src, bytes, stream), "cuMemcpyDtoHAsync");
    }

    /** Loads a fatbin (or PTX) image; the module. */
    public MemorySegment loadModule(MemorySegment image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment module = arena.allocate(ADDRESS);
            check(call(cuModuleLoadData, module, image), "cuModuleLoadData");
            return module.get(ADDRESS, 0);
        }
    }

    public MemorySegment function(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment function = arena.allocate(ADDRESS);
            check(call(cuModuleGetFunction, function, module, arena.allocateFrom(name)),
                    "cuModuleGetFunction(" + name + ")");
            return function.get(ADDRESS, 0);
        }
    }

    /**
     * Launches {@code function} on a grid of {@code grid} blocks of {@code block} threads with {@code params}, an
     * array of pointers to the kernel's arguments.
     */
    public void launch(MemorySegment function, int grid, int block, int sharedBytes, MemorySegment stream,
                       MemorySegment params) {
        check(call(cuLaunchKernel, function, grid, 1, 1, block, 1, 1, sharedBytes, stream, params,
                MemorySegment.NULL), "cuLaunchKernel");
    }

    private void check(int result, String call) {
        if (result != SUCCESS) {
            throw new CudaException(call + " failed: " + errorName(result) + " (" + result + ")");
        }
    }

    /** The {@code CUresult}'s name, e.g. {@code CUDA_ERROR_NO_DEVICE}. */
    String errorName(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(ADDRESS);
            return call(cuGetErrorName, result, name) == SUCCESS
                    ? name.get(ADDRESS, 0).reinterpret(256).getString(0) : "unknown error";
        }
    }

    private int call(MethodHandle function, Object... args) {
        return Native.invokeInt(function, args);
    }
}
