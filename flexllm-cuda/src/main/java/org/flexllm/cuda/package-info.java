/**
 * CUDA through the Foreign Function &amp; Memory API: bindings to the driver API ({@link org.flexllm.cuda.Driver},
 * {@code libcuda.so.1}), cuBLAS ({@link org.flexllm.cuda.Cublas}) and NCCL ({@link org.flexllm.cuda.Nccl}), the
 * kernels nvcc compiled into the jar's fatbin ({@link org.flexllm.cuda.Kernels}), and the probe that says whether
 * this machine can run them ({@link org.flexllm.cuda.CudaDevice}). Where the libraries are: {@link
 * org.flexllm.cuda.CudaLibraries}. The {@code Backend} built on them is not here yet: the CPU backend is the only
 * one.
 */
package org.flexllm.cuda;
