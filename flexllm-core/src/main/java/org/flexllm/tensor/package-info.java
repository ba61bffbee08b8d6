/** Typed views of memory: dtypes, shapes and tensors over {@code MemorySegment}s. */
package org.flexllm.tensor;
