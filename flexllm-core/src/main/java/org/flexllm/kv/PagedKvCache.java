package org.flexllm.kv;

import org.flexllm.FlexLlmException;
import org.flexllm.backend.Backend;
import org.flexllm.backend.KvLayer;
import org.flexllm.model.ModelConfig;

/**
 * The paged KV cache: per layer, {@code numBlocks × blockSize} f32 slots of keys and of values, allocated
 * once from a byte budget, handed to sequences block by block.
 */
public final class PagedKvCache {
    private final KvLayer[] layers;
    private final int blockSize;
    private final BlockAllocator allocator;

    private PagedKvCache(KvLayer[] layers, int blockSize, int numBlocks) {
        this.layers = layers;
        this.blockSize = blockSize;
        this.allocator = new BlockAllocator(numBlocks);
    }

    /** As many blocks as fit in {@code bytes} for all layers' keys and values. */
    public static PagedKvCache allocate(Backend backend, ModelConfig config, int blockSize, long bytes) {
        long bytesPerBlock = bytesPerToken(config) * blockSize;
        int numBlocks = (int) Math.min(Integer.MAX_VALUE / blockSize, bytes / bytesPerBlock);
        if (numBlocks < 1) {
            throw new FlexLlmException("KV cache budget of " + bytes + " bytes holds no block of " + blockSize
                    + " tokens (" + bytesPerBlock + " bytes); raise kvCacheBytes");
        }
        long floats = (long) numBlocks * blockSize * config.kvDim();
        KvLayer[] layers = new KvLayer[config.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new KvLayer(backend.allocate(floats), backend.allocate(floats), config.kvDim());
        }
        return new PagedKvCache(layers, blockSize, numBlocks);
    }

    /** Keys and values of every layer for one token, f32. */
    public static long bytesPerToken(ModelConfig config) {
        return 2L * config.numLayers() * config.kvDim() * Float.BYTES;
    }

    public KvLayer layer(int l) {
        return layers[l];
    }

    /** Layers, each with its own keys and values. */
    public int layers() {
        return layers.length;
    }

    public int blockSize() {
        return blockSize;
    }

    public BlockAllocator blocks() {
        return allocator;
    }

    /** Positions the whole cache can hold. */
    public int capacityTokens() {
        return allocator.capacity() * blockSize;
    }
}
