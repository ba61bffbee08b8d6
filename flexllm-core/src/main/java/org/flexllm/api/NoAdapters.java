package org.flexllm.api;

import java.util.List;
import org.flexllm.graph.GraphPass;
import org.flexllm.model.ModelConfig;
import org.flexllm.parallel.TensorParallelPlan;

/** The host of an engine built without {@link EngineBuilder#adapters}: no bypass ops, no adapter names. */
final class NoAdapters implements AdapterHost {
    static final NoAdapters INSTANCE = new NoAdapters();

    private NoAdapters() {}

    @Override
    public List<GraphPass> passes(ModelConfig model) {
        return List.of();
    }

    @Override
    public List<GraphPass> passes(TensorParallelPlan plan, int rank) {
        return List.of();
    }

    @Override
    public void check(String name) {
        throw new UnknownAdapterException("the request names adapter '" + name + "', but this engine serves no"
                + " adapters: build it with EngineBuilder.adapters(...) and register the adapter there");
    }

    @Override
    public int tryAcquire(String name) {
        check(name);
        return WAIT;
    }

    @Override
    public void release(int slot) {
        throw new IllegalStateException("slot " + slot + " was never acquired: this engine serves no adapters");
    }
}
