package org.flexllm.backend;

import java.lang.foreign.MemorySegment;

/**
 * One layer's paged KV cache: {@code numBlocks × blockSize} slots of {@code kvDim} floats for keys and for
 * values. Slot {@code s} lives at float offset {@code s · kvDim}.
 */
public record KvLayer(MemorySegment keys, MemorySegment values, int kvDim) {}
