package org.flexllm.engine;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.graph.CompiledModel;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelWeights;
import org.flexllm.schedule.ScheduledChunk;
import org.flexllm.schedule.Sequence;

/** Runs one sequence through a compiled model in chunks of a given size, collecting every position's logits. */
final class SingleSequence implements AutoCloseable {
    private final CompiledModel model;
    private final PagedKvCache kv;
    private final BatchBuilder batches;

    SingleSequence(ModelConfig config, ModelWeights weights, int maxTokens) {
        var backend = new CpuBackend();
        model = CompiledModel.compile(backend, config, weights, List.of(), maxTokens, config.maxPositionEmbeddings());
        kv = PagedKvCache.allocate(backend, config, 16, PagedKvCache.bytesPerToken(config) * 1024);
        batches = new BatchBuilder(config, kv, maxTokens);
    }

    /** Logits at every position of {@code ids}, computed {@code chunk} tokens per forward pass. */
    List<float[]> logits(int[] ids, int chunk) {
        Sequence s = new Sequence(0, ids, ids.length);
        List<float[]> out = new ArrayList<>();
        while (s.uncomputed() > 0) {
            int count = Math.min(chunk, s.uncomputed());
            s.blocks().growTo(s.computed() + count, kv.blockSize(), kv.blocks());
            var batch = batches.build(List.of(new ScheduledChunk(s, s.computed(), count)), (seq, p) -> true);
            model.forward(batch, kv, (i, row) -> out.add(row.clone()));
            s.advance(count);
        }
        s.blocks().releaseAll(kv.blocks());
        return out;
    }

    CompiledModel model() {
        return model;
    }

    PagedKvCache kv() {
        return kv;
    }

    BatchBuilder batches() {
        return batches;
    }

    @Override
    public void close() {
        model.backend().close();
    }
}
