package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.model.Rope;
import org.flexllm.model.Rope.RopeTable;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The kernels' per-element math, compiled for the host from the header the device kernels include, against the CPU
 * backend (and peft's AdamW) on random inputs: f32 results within 1e-5 of the magnitude of the terms they are made
 * of, element by element.
 */
class KernelMathTest {
    private static final double F32 = 1e-5;
    private static final Path SHARED = Path.of(System.getProperty("flexllm.shared", "../shared"));
    private static final int ROWS = 3;
    /** Odd, so that the CPU's vector loops run their scalar tails too. */
    private static final int WIDTH = 67;
    private static final float EPS = 1e-5f;

    private static HostMath host;

    private final Random random = new Random(20261203);
    // Shared: the CPU backend's worker threads read the inputs.
    private final Arena arena = Arena.ofShared();
    private final CpuBackend cpu = new CpuBackend();

    @BeforeAll
    static void buildTheHostMath() {
        host = HostMath.load();
    }

    @AfterEach
    void close() {
        cpu.close();
        arena.close();
    }

    @Test
    void rmsNorm() {
        float[] x = uniform(ROWS * WIDTH, 1);
        float[] w = uniform(WIDTH, 1);
        float[] onCpu = new float[x.length];
        MemorySegment out = cpu.allocate(x.length);
        cpu.rmsNorm(onCpu(x), ROWS, weight(w), EPS, out);
        cpu.copyToHost(out, onCpu, onCpu.length);

        MemorySegment hostOut = arena.allocate(JAVA_FLOAT, x.length);
        host.rmsNorm(hostBuffer(x), hostBuffer(w), hostOut, ROWS, WIDTH, EPS);
        assertClose(onCpu, read(hostOut), magnitudes(onCpu), "rms_norm");
    }

    @Test
    void rmsNormBackward() {
        float[] x = uniform(ROWS * WIDTH, 1);
        float[] dy = uniform(ROWS * WIDTH, 1);
        float[] w = uniform(WIDTH, 1);
        float[] onCpu = new float[x.length];
        MemorySegment dx = cpu.allocate(x.length);
        cpu.rmsNormBackward(onCpu(x), onCpu(dy), ROWS, weight(w), EPS, dx);
        cpu.copyToHost(dx, onCpu, onCpu.length);

        MemorySegment hostDx = arena.allocate(JAVA_FLOAT, x.length);
        host.rmsNormBackward(hostBuffer(x), hostBuffer(dy), hostBuffer(w), hostDx, ROWS, WIDTH, EPS);
        // dx_i = s·w_i·dy_i − x_i·s³/n·Σ dy·w·x: the two terms may cancel, so judge by their sizes.
        double[] scale = new double[x.length];
        for (int r = 0; r < ROWS; r++) {
            double squares = 0;
            double dot = 0;
            for (int i = 0; i < WIDTH; i++) {
                squares += (double) x[r * WIDTH + i] * x[r * WIDTH + i];
                dot += (double) dy[r * WIDTH + i] * w[i] * x[r * WIDTH + i];
            }
            double s = 1 / Math.sqrt(squares / WIDTH + EPS);
            for (int i = 0; i < WIDTH; i++) {
                int k = r * WIDTH + i;
                scale[k] = Math.abs(s * w[i] * dy[k]) + Math.abs(x[k] * s * s * s * dot / WIDTH);
            }
        }
        assertClose(onCpu, read(hostDx), scale, "rms_norm_backward");
    }

    @Test
    void swiglu() {
        float[] gate = uniform(ROWS * WIDTH, 6);
        float[] up = uniform(ROWS * WIDTH, 1);
        float[] onCpu = new float[gate.length];
        MemorySegment out = cpu.allocate(gate.length);
        cpu.swiglu(onCpu(gate), onCpu(up), ROWS, WIDTH, out);
        cpu.copyToHost(out, onCpu, onCpu.length);

        MemorySegment hostOut = arena.allocate(JAVA_FLOAT, gate.length);
        host.swiglu(hostBuffer(gate), hostBuffer(up), hostOut, gate.length);
        assertClose(onCpu, read(hostOut), magnitudes(onCpu), "swiglu");
    }

    @Test
    void swigluBackward() {
        int n = ROWS * WIDTH;
        float[] gate = uniform(n, 6);
        float[] up = uniform(n, 1);
        float[] dOut = uniform(n, 1);
        MemorySegment dGate = cpu.allocate(n);
        MemorySegment dUp = cpu.allocate(n);
        cpu.swigluBackward(onCpu(gate), onCpu(up), onCpu(dOut), ROWS, WIDTH, dGate, dUp);
        float[] cpuGate = new float[n];
        float[] cpuUp = new float[n];
        cpu.copyToHost(dGate, cpuGate, n);
        cpu.copyToHost(dUp, cpuUp, n);

        MemorySegment hostGate = arena.allocate(JAVA_FLOAT, n);
        MemorySegment hostUp = arena.allocate(JAVA_FLOAT, n);
        host.swigluBackward(hostBuffer(gate), hostBuffer(up), hostBuffer(dOut), hostGate, hostUp, n);
        // dGate = dOut·up·σ(g)·(1 + g·(1 − σ(g))): the bracket cancels near g ≈ −1.28.
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 1 / (1 + Math.exp(-gate[i]));
            scale[i] = Math.abs(dOut[i] * up[i] * s) * (1 + Math.abs(gate[i] * (1 - s)));
        }
        assertClose(cpuGate, read(hostGate), scale, "swiglu_backward dGate");
        assertClose(cpuUp, read(hostUp), magnitudes(cpuUp), "swiglu_backward dUp");
    }

    /** The llama3-scaled frequencies of the golden model's config, forward and back. */
    @Test
    void ropeWithLlama3Scaling() {
        ModelConfig config = ModelConfigs.read(SHARED.resolve("golden/models/llama3-rope-scaling/config.json"));
        int maxPositions = 64;
        RopeTable table = Rope.table(config, maxPositions);
        int heads = 4;
        int width = heads * 2 * table.half();
        float[] x = uniform(ROWS * width, 1);
        int[] positions = random.ints(ROWS, 0, maxPositions).toArray();
        for (float direction : new float[] {1, -1}) {
            MemorySegment onCpu = onCpu(x);
            if (direction > 0) {
                cpu.rope(onCpu, ROWS, heads, positions, table);
            } else {
                cpu.ropeBackward(onCpu, ROWS, heads, positions, table);
            }
            float[] expected = new float[x.length];
            cpu.copyToHost(onCpu, expected, expected.length);

            MemorySegment turned = hostBuffer(x);
            host.rope(turned, arena.allocateFrom(JAVA_INT, positions), hostBuffer(table.cos()), hostBuffer(table.sin()),
                    ROWS, heads, table.half(), direction);
            assertClose(expected, read(turned), ropeTerms(x, positions, table, heads), "rope " + direction);
        }
    }

    @Test
    void crossEntropy() {
        int vocab = 97;
        int[] targets = {3, -1, 96, 0};
        float weight = 0.5f;
        float[] logits = uniform(targets.length * vocab, 8);
        MemorySegment onCpu = onCpu(logits);
        double cpuLoss = cpu.crossEntropy(onCpu, targets.length, vocab, targets, weight);
        float[] cpuGrad = new float[logits.length];
        cpu.copyToHost(onCpu, cpuGrad, cpuGrad.length);

        MemorySegment hostGrad = hostBuffer(logits);
        double hostLoss = host.crossEntropy(hostGrad, targets.length, vocab, arena.allocateFrom(JAVA_INT, targets),
                weight);
        assertEquals(cpuLoss, hostLoss, F32 * Math.abs(cpuLoss), "the loss");
        assertClose(cpuGrad, read(hostGrad), magnitudes(cpuGrad), "cross_entropy gradient");
    }

    /** Two steps, so that the second starts from moments the first wrote. */
    @Test
    void adamwAgainstPeft() {
        int n = 129;
        double lr = 1e-2;
        float[] start = uniform(n, 1);
        MemorySegment value = hostBuffer(start);
        MemorySegment grad = arena.allocate(JAVA_FLOAT, n);
        AdamW peft = new AdamW(cpu, List.of(new Parameter("p", Shape.of(n), value, grad)), 0.9, 0.999, 1e-8, 0.01);

        MemorySegment hostValue = hostBuffer(start);
        MemorySegment m = arena.allocate(JAVA_FLOAT, n);
        MemorySegment v = arena.allocate(JAVA_FLOAT, n);
        float[] before = start;
        for (int t = 1; t <= 2; t++) {
            MemorySegment.copy(uniform(n, 1), 0, grad, JAVA_FLOAT, 0, n);
            peft.step(lr);
            host.adamw(hostValue, grad, m, v, n, lr, 0.9, 0.999, 1e-8, 0.01, t);
            float[] expected = read(value);
            // p·(1 − lr·wd) minus an update of at most about 2·lr at these steps (|m̂|/√v̂ ≲ 1.5).
            double[] scale = magnitudes(before);
            for (int i = 0; i < n; i++) {
                scale[i] += 2 * lr;
            }
            assertClose(expected, read(hostValue), scale, "adamw step " + t);
            before = expected;
        }
    }

    /** |a·cos| + |b·sin| of each rotated element: the two products its result adds. */
    private static double[] ropeTerms(float[] x, int[] positions, RopeTable table, int heads) {
        int half = table.half();
        double[] scale = new double[x.length];
        for (int t = 0; t < positions.length; t++) {
            for (int h = 0; h < heads; h++) {
                int head = (t * heads + h) * 2 * half;
                for (int i = 0; i < half; i++) {
                    double c = Math.abs(table.cos()[positions[t] * half + i]);
                    double s = Math.abs(table.sin()[positions[t] * half + i]);
                    double a = Math.abs(x[head + i]);
                    double b = Math.abs(x[head + i + half]);
                    scale[head + i] = a * c + b * s;
                    scale[head + i + half] = b * c + a * s;
                }
            }
        }
        return scale;
    }

    private static void assertClose(float[] expected, float[] actual, double[] scale, String what) {
        for (int i = 0; i < expected.length; i++) {
            double bound = F32 * Math.max(scale[i], Float.MIN_NORMAL);
            if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
                fail(what + ": element " + i + " is " + actual[i] + " on the host build, " + expected[i]
                        + " on the CPU backend (bound " + bound + ")");
            }
        }
    }

    private static double[] magnitudes(float[] v) {
        double[] m = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            m[i] = Math.abs(v[i]);
        }
        return m;
    }

    /** {@code count} values uniform in [-range, range). */
    private float[] uniform(int count, float range) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (random.nextFloat() * 2 - 1) * range;
        }
        return v;
    }

    private MemorySegment onCpu(float[] values) {
        MemorySegment buffer = cpu.allocate(values.length);
        MemorySegment.copy(values, 0, buffer, JAVA_FLOAT, 0, values.length);
        return buffer;
    }

    private Tensor weight(float[] values) {
        return cpu.weight(new Tensor("weight", DType.F32, Shape.of(values.length), hostBuffer(values)));
    }

    private MemorySegment hostBuffer(float[] values) {
        return arena.allocateFrom(JAVA_FLOAT, values);
    }

    private static float[] read(MemorySegment segment) {
        return segment.toArray(JAVA_FLOAT);
    }
}
