/**
 * CUDA through the Foreign Function &amp; Memory API: bindings to the driver API ({@link org.flexllm.cuda.Driver},
 * {@code libcuda.so.1}), cuBLAS ({@link org.flexllm.cuda.Cublas}) and NCCL ({@link org.flexllm.cuda.Nccl}), the
 * kernels nvcc compiled into the jar's fatbin ({@link org.flexllm.cuda.Kernels}), and the probe that says whether
 * this machine can run them ({@link org.flexllm.cuda.CudaDevice}). Where the libraries are: {@link
 * org.flexllm.cuda.CudaLibraries}. The {@code Backend} built on them is not here yet: {@link
 * org.flexllm.cuda.CudaBackendProvider} registers {@code cuda} as never available, with the reason ({@link
 * org.flexllm.cuda.CudaProblem}), so that {@code auto} falls back to the CPU saying why. The per-element math of the
 * kernels is in {@code src/main/cuda/flexllm_math.cuh}, shared by the device kernels and a host build the tests
 * compare with the CPU backend.
 */
package org.flexllm.cuda;
