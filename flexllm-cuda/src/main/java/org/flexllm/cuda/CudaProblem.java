package org.flexllm.cuda;

/**
 * Why the CUDA backend cannot run on this machine: the reason {@code auto} falls back to the CPU, and the cause of
 * the {@link CudaUnavailableException} when {@code cuda} is asked for by name.
 */
public enum CudaProblem {
    /** The jar holds no kernels: {@code flexllm-cuda} was built where there was no {@code nvcc}. */
    NO_KERNELS,
    /** {@code libcuda.so.1} could not be loaded: no NVIDIA driver is installed. */
    NO_DRIVER,
    /**
     * The driver is older than the CUDA version the kernels were built for ({@link CudaDevice#MIN_DRIVER_VERSION}):
     * {@code cuDriverGetVersion} says so, {@code cuInit} answers {@code CUDA_ERROR_INSUFFICIENT_DRIVER}, or the
     * library lacks a function the bindings need.
     */
    DRIVER_TOO_OLD,
    /** The driver loads but sees no GPU ({@code CUDA_ERROR_NO_DEVICE}, or zero devices). */
    NO_DEVICE,
    /** {@code cuInit} failed for another reason; the message names the {@code CUresult}. */
    DRIVER_FAILED,
    /** A GPU is usable, but there is no CUDA {@code Backend} yet: the CPU serves. */
    NO_BACKEND
}
