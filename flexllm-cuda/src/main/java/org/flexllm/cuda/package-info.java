/**
 * The CUDA backend: FFM bindings to the driver API and cuBLAS, PTX kernels, device memory. Filled by
 * the CUDA issue; until then the CPU backend is the only {@code Backend}.
 */
package org.flexllm.cuda;
