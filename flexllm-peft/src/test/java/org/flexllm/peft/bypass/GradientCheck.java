package org.flexllm.peft.bypass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import org.flexllm.Shared;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.init.AdapterInit;

/**
 * An adapter's gradients against finite differences of the loss (the five-point stencil: its O(h⁴) error stays
 * below the tolerance where a LoRA's curvature defeats the two-point one), on the golden llama-gqa model: a
 * sampled entry of every parameter, with the dropout masks (if any) fixed by the sequence's seed.
 */
final class GradientCheck {
    private static final double STEP = 1e-2;
    private static final long DROPOUT_SEED = 17;

    private GradientCheck() {}

    /** Runs the check; {@code values} sets the parameters' values away from their initialisation. */
    static void check(AdapterConfig config, Pruning pruning, java.util.function.ToDoubleFunction<Random> values)
            throws Exception {
        try (Checkpoint checkpoint = Checkpoint.load(Shared.resolve("golden/models/llama-gqa"));
             CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            ModelConfig model = checkpoint.config();
            List<Parameter> params = AdapterInit.create(config, model, 7, arena).parameters(backend, arena);
            Random random = new Random(3);
            for (Parameter p : params) {
                for (long i = 0; i < p.count(); i++) {
                    p.value().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) values.applyAsDouble(random));
                }
            }
            ResidentAdapters slots = new ResidentAdapters(1, Math.max(1, config.r()));
            slots.set(0, ResidentAdapters.Resident.of("checked", config, params, model));
            CompiledModel compiled = CompiledModel.compile(backend, model, checkpoint.weights(),
                    List.of(BypassPass.forAdapter(slots, config)), pruning, 32, 32);
            TrainingRunner runner = new TrainingRunner(compiled,
                    PagedKvCache.allocate(backend, model, 4, PagedKvCache.bytesPerToken(model) * 32), 32);
            int[] ids = new Random(11).ints(24, 0, model.vocabSize()).toArray();
            int[] labels = ids.clone();
            labels[0] = labels[1] = TrainingSequence.IGNORE;
            float weight = 1f / 21;
            runner.run(new TrainingSequence(ids, labels, compiled.newTape(32), DROPOUT_SEED), 0, weight, 9, 1);
            Random pick = new Random(5);
            int nonzero = 0;
            for (Parameter p : params) {
                long i = pick.nextInt((int) p.count());
                float analytic = p.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                java.util.function.DoubleUnaryOperator loss =
                        h -> lossWith(runner, compiled, p.value(), i, h, ids, labels, weight);
                double numeric = (8 * (loss.applyAsDouble(STEP) - loss.applyAsDouble(-STEP))
                        - (loss.applyAsDouble(2 * STEP) - loss.applyAsDouble(-2 * STEP))) / (12 * STEP);
                assertEquals(numeric, analytic, 2e-4 + 1e-2 * Math.abs(numeric), p.name() + "[" + i + "]");
                nonzero += analytic != 0 ? 1 : 0;
            }
            assertTrue(nonzero > params.size() / 2, "most sampled gradients are nonzero");
        }
    }

    /** The loss with one entry moved by {@code delta}, with the same dropout masks as the training run. */
    static double lossWith(TrainingRunner runner, CompiledModel model, MemorySegment values, long i, double delta,
                           int[] ids, int[] labels, float weight) {
        float original = values.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        values.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (original + delta));
        double loss = runner.evaluate(new TrainingSequence(ids, labels, model.newTape(32), DROPOUT_SEED), 0, weight,
                32);
        values.setAtIndex(ValueLayout.JAVA_FLOAT, i, original);
        return loss;
    }
}
