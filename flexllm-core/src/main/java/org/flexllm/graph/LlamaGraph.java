package org.flexllm.graph;

import static org.flexllm.graph.Projection.DOWN_PROJ;
import static org.flexllm.graph.Projection.GATE_PROJ;
import static org.flexllm.graph.Projection.K_PROJ;
import static org.flexllm.graph.Projection.O_PROJ;
import static org.flexllm.graph.Projection.Q_PROJ;
import static org.flexllm.graph.Projection.UP_PROJ;
import static org.flexllm.graph.Projection.V_PROJ;

import java.util.List;
import org.flexllm.graph.Ops.Attention;
import org.flexllm.graph.Ops.Embed;
import org.flexllm.graph.Ops.Linear;
import org.flexllm.graph.Ops.LmHead;
import org.flexllm.graph.Ops.Norm;
import org.flexllm.graph.Ops.RmsNorm;
import org.flexllm.graph.Ops.Rope;
import org.flexllm.graph.Ops.SelectLogitRows;
import org.flexllm.graph.Ops.StoreKv;
import org.flexllm.graph.Ops.SwiGlu;
import org.flexllm.model.ModelConfig;

/** The graph of HF LlamaForCausalLM (and Qwen2, Mistral: the same graph with other biases). */
public final class LlamaGraph {
    /**
     * Rows of logits computed per lm_head GEMM: each GEMM streams the whole vocab-wide matrix, so a batch of
     * decodes should fit in one, while the f32 scratch ({@code rows × vocab}) stays tens of megabytes.
     */
    public static final int LOGIT_CHUNK = 64;

    private LlamaGraph() {}

    public static DecoderGraph of(ModelConfig c) {
        Value x = Value.perToken("x", c.hiddenSize());
        Value h = Value.perToken("h", c.hiddenSize());
        Value q = Value.perToken("q", c.qDim());
        Value k = Value.perToken("k", c.kvDim());
        Value v = Value.perToken("v", c.kvDim());
        Value att = Value.perToken("att", c.qDim());
        Value h2 = Value.perToken("h2", c.hiddenSize());
        Value gate = Value.perToken("gate", c.intermediateSize());
        Value up = Value.perToken("up", c.intermediateSize());
        Value act = Value.perToken("act", c.intermediateSize());
        Value last = Value.perToken("x_last", c.hiddenSize());
        Value normed = Value.perToken("x_final", c.hiddenSize());
        Value logits = Value.scratch("logits", LOGIT_CHUNK, c.vocabSize());
        return new DecoderGraph(
                List.of(new Embed(x)),
                List.of(
                        new RmsNorm(Norm.INPUT, x, h),
                        new Linear(Q_PROJ, h, q, false),
                        new Linear(K_PROJ, h, k, false),
                        new Linear(V_PROJ, h, v, false),
                        new Rope(q, c.numHeads()),
                        new Rope(k, c.numKvHeads()),
                        new StoreKv(k, v),
                        new Attention(q, att),
                        new Linear(O_PROJ, att, x, true),
                        new RmsNorm(Norm.POST_ATTENTION, x, h2),
                        new Linear(GATE_PROJ, h2, gate, false),
                        new Linear(UP_PROJ, h2, up, false),
                        new SwiGlu(gate, up, act),
                        new Linear(DOWN_PROJ, act, x, true)),
                List.of(
                        new SelectLogitRows(x, last),
                        new RmsNorm(Norm.FINAL, last, normed),
                        new LmHead(normed, logits)));
    }
}
