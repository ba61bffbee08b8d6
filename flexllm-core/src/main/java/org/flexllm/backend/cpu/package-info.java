/** The CPU backend: Vector API kernels over memory segments, weights read in their stored dtype, work split across cores. */
package org.flexllm.backend.cpu;
