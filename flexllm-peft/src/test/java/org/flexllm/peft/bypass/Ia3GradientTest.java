package org.flexllm.peft.bypass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.flexllm.Shared;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.engine.TrainingRunner;
import org.flexllm.graph.CompiledModel;
import org.flexllm.graph.Projection;
import org.flexllm.graph.Pruning;
import org.flexllm.graph.TrainingSequence;
import org.flexllm.kv.PagedKvCache;
import org.flexllm.model.Checkpoint;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.PeftMethod;
import org.flexllm.peft.init.AdapterInit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** IA3's gradients (k, v outputs and down_proj's input) against central finite differences of the loss. */
class Ia3GradientTest {
    private static final double STEP = 1e-2;

    @ParameterizedTest
    @EnumSource(Pruning.class)
    void gradientsMatchFiniteDifferences(Pruning pruning) throws Exception {
        try (Checkpoint checkpoint = Checkpoint.load(Shared.resolve("golden/models/llama-gqa"));
             CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            ModelConfig model = checkpoint.config();
            AdapterConfig config = AdapterConfig.builder().method(PeftMethod.IA3)
                    .targets(Set.of(Projection.K_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ))
                    .feedforwardModules(Set.of(Projection.DOWN_PROJ)).build();
            Adapter adapter = AdapterInit.create(config, model, 7, arena);
            List<Parameter> params = adapter.parameters(arena);
            perturb(params, new Random(3));
            ResidentAdapters slots = new ResidentAdapters(1, 1);
            slots.set(0, ResidentAdapters.Resident.of("ia3", config, params, model));
            CompiledModel compiled = CompiledModel.compile(backend, model, checkpoint.weights(),
                    List.of(BypassPass.forAdapter(slots, config)), pruning, 32, 32);
            TrainingRunner runner = new TrainingRunner(compiled,
                    PagedKvCache.allocate(backend, model, 4, PagedKvCache.bytesPerToken(model) * 32), 32);
            int[] ids = new Random(11).ints(24, 0, model.vocabSize()).toArray();
            int[] labels = ids.clone();
            labels[0] = labels[1] = TrainingSequence.IGNORE;
            float weight = 1f / 21;
            runner.run(new TrainingSequence(ids, labels, compiled.newTape(32)), 0, weight, 9, 1);
            Random pick = new Random(5);
            int checked = 0;
            for (Parameter p : params) {
                long i = pick.nextInt((int) p.count());
                float analytic = p.grad().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                double numeric = (lossWith(runner, compiled, p.value(), i, STEP, ids, labels, weight)
                        - lossWith(runner, compiled, p.value(), i, -STEP, ids, labels, weight)) / (2 * STEP);
                assertEquals(numeric, analytic, 2e-4 + 1e-2 * Math.abs(numeric), p.name() + "[" + i + "]");
                checked += analytic != 0 ? 1 : 0;
            }
            assertTrue(checked > params.size() / 2, "most sampled gradients are nonzero");
        }
    }

    private static double lossWith(TrainingRunner runner, CompiledModel model, MemorySegment values, long i,
                                   double delta, int[] ids, int[] labels, float weight) {
        float original = values.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        values.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (original + delta));
        double loss = runner.evaluate(new TrainingSequence(ids, labels, model.newTape(32)), 0, weight, 32);
        values.setAtIndex(ValueLayout.JAVA_FLOAT, i, original);
        return loss;
    }

    /** Away from all-ones, so that the check does not rely on the initialisation's symmetry. */
    private static void perturb(List<Parameter> params, Random random) {
        for (Parameter p : params) {
            for (long i = 0; i < p.count(); i++) {
                p.value().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (1 + 0.2 * random.nextGaussian()));
            }
        }
    }
}
