package org.flexllm.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.flexllm.backend.VocabShard;
import org.flexllm.backend.cpu.CpuBackend;
import org.flexllm.model.ModelConfig;
import org.flexllm.model.ModelConfigs;
import org.flexllm.model.Rope;
import org.flexllm.model.Rope.RopeTable;
import org.flexllm.peft.Parameter;
import org.flexllm.peft.optim.AdamW;
import org.flexllm.peft.optim.Sgd;
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

    /** The same elements dropped and the same bits kept, so that a job's masks do not depend on the backend. */
    @Test
    void dropoutDropsWhatTheCpuDrops() {
        float[] x = uniform(ROWS * WIDTH, 1);
        int[] positions = {7, 1000, 3, 12345, 9};
        int firstRow = 1;
        int firstColumn = 40;
        float p = 0.3f;
        float[] onCpu = new float[x.length];
        MemorySegment out = cpu.allocate(x.length);
        cpu.dropout(onCpu(x), ROWS, WIDTH, p, -77, positions, firstRow, firstColumn, out);
        cpu.copyToHost(out, onCpu, onCpu.length);

        MemorySegment hostOut = arena.allocate(JAVA_FLOAT, x.length);
        host.dropout(hostBuffer(x), hostOut, ROWS, WIDTH, p, -77, arena.allocateFrom(JAVA_INT, positions), firstRow,
                firstColumn);
        float[] onHost = read(hostOut);
        int dropped = 0;
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(onCpu[i]), Float.floatToRawIntBits(onHost[i]), "element " + i);
            dropped += onHost[i] == 0 ? 1 : 0;
        }
        assertTrue(dropped > 0 && dropped < x.length, dropped + " of " + x.length + " dropped");
    }

    /**
     * A run of 5 queries at positions 3..7 of a sequence whose cache blocks are out of order, 4 heads over 2 kv heads
     * (GQA): dq, and the keys' and values' gradients of every position 0..7, as the CPU backend's.
     */
    @Test
    void attentionBackward() {
        int heads = 4;
        int kvHeads = 2;
        int headDim = 8;
        int blockSize = 4;
        int first = 3;
        int n = 5;
        int keys = first + n;
        int kvDim = kvHeads * headDim;
        int[] table = {2, 0, 1};
        float[] q = uniform(n * heads * headDim, 1);
        float[] dOut = uniform(n * heads * headDim, 1);
        float[] cacheKeys = uniform(3 * blockSize * kvDim, 1);
        float[] cacheValues = uniform(3 * blockSize * kvDim, 1);
        int[] visible = new int[n];
        int[] slot = new int[n];
        for (int t = 0; t < n; t++) {
            visible[t] = first + t + 1;
            slot[t] = table[(first + t) / blockSize] * blockSize + (first + t) % blockSize;
        }
        var batch = new AttentionBatch(heads, kvHeads, headDim, blockSize, n, slot, new int[n], visible,
                new int[][] {table});
        MemorySegment dq = cpu.allocate((long) n * heads * headDim);
        MemorySegment dKeys = cpu.allocate((long) keys * kvDim);
        MemorySegment dValues = cpu.allocate((long) keys * kvDim);
        cpu.attentionBackward(onCpu(q), onCpu(dOut), batch, new KvLayer(onCpu(cacheKeys), onCpu(cacheValues), kvDim),
                dq, dKeys, dValues);

        MemorySegment hostDq = arena.allocate(JAVA_FLOAT, (long) n * heads * headDim);
        MemorySegment hostDKeys = arena.allocate(JAVA_FLOAT, (long) keys * kvDim);
        MemorySegment hostDValues = arena.allocate(JAVA_FLOAT, (long) keys * kvDim);
        host.attentionBackward(hostBuffer(q), hostBuffer(dOut), hostBuffer(cacheKeys), hostBuffer(cacheValues),
                arena.allocateFrom(JAVA_INT, table), blockSize, first, n, heads, kvHeads, headDim, hostDq, hostDKeys,
                hostDValues, arena.allocate(JAVA_FLOAT, (long) n * heads * keys),
                arena.allocate(JAVA_FLOAT, (long) n * heads * keys));
        assertAttentionClose(cpu, dq, read(hostDq), "dq");
        assertAttentionClose(cpu, dKeys, read(hostDKeys), "dKeys");
        assertAttentionClose(cpu, dValues, read(hostDValues), "dValues");
    }

    /** Within 1e-5 of the sums of up to ~20 products of unit-sized terms that each element is made of. */
    private static void assertAttentionClose(CpuBackend cpu, MemorySegment onCpu, float[] onHost, String what) {
        float[] expected = new float[onHost.length];
        cpu.copyToHost(onCpu, expected, expected.length);
        double[] scale = new double[expected.length];
        Arrays.fill(scale, 20);
        assertClose(expected, onHost, scale, what);
    }

    /**
     * A vocabulary of 127 split over two ranks (67 columns, and 60 of 67 on the second, the rest padding): both
     * halves on each shard, the targets on either rank or none; every shard's gradient and the loss as the CPU's.
     */
    @Test
    void vocabularyParallelCrossEntropy() {
        int ranks = 2;
        int[] valid = {WIDTH, 60};
        int[] targets = {5, WIDTH + 59, -1};
        float weight = 0.25f;
        float[][] shards = {uniform(ROWS * WIDTH, 8), uniform(ROWS * WIDTH, 8)};
        float[][] onCpu = new float[ranks][ROWS * WIDTH];
        float[][] onHost = new float[ranks][];
        MemorySegment cpuGathered = cpu.allocate((long) ranks * ROWS * VocabShard.STATS);
        MemorySegment hostGathered = arena.allocate(JAVA_FLOAT, (long) ranks * ROWS * VocabShard.STATS);
        MemorySegment hostTargets = arena.allocateFrom(JAVA_INT, targets);
        long statsBytes = (long) ROWS * VocabShard.STATS * Float.BYTES;
        MemorySegment[] cpuLogits = new MemorySegment[ranks];
        MemorySegment[] hostLogits = new MemorySegment[ranks];
        for (int k = 0; k < ranks; k++) {
            cpuLogits[k] = onCpu(shards[k]);
            cpu.shardSoftmax(cpuLogits[k], ROWS, new VocabShard(k, ranks, WIDTH, valid[k]), targets,
                    cpuGathered.asSlice(k * statsBytes, statsBytes));
            hostLogits[k] = hostBuffer(shards[k]);
            host.shardSoftmax(hostLogits[k], ROWS, WIDTH, valid[k], k * WIDTH, hostTargets,
                    hostGathered.asSlice(k * statsBytes, statsBytes));
        }
        for (int k = 0; k < ranks; k++) {
            double cpuLoss = cpu.shardCrossEntropy(cpuLogits[k], ROWS, new VocabShard(k, ranks, WIDTH, valid[k]),
                    targets, cpuGathered, weight);
            double hostLoss = host.shardCrossEntropy(hostLogits[k], ROWS, WIDTH, valid[k], k, ranks, hostTargets,
                    hostGathered, weight);
            assertEquals(cpuLoss, hostLoss, F32 * Math.abs(cpuLoss), "the loss on rank " + k);
            cpu.copyToHost(cpuLogits[k], onCpu[k], onCpu[k].length);
            onHost[k] = read(hostLogits[k]);
            double[] scale = new double[onCpu[k].length];
            Arrays.fill(scale, weight);
            assertClose(onCpu[k], onHost[k], scale, "the gradient on rank " + k);
        }
    }

    /** Three steps with momentum and weight decay: the first starts the buffer, the others build on it. */
    @Test
    void sgdAgainstPeft() {
        int n = 129;
        float[] start = uniform(n, 1);
        MemorySegment value = hostBuffer(start);
        MemorySegment grad = arena.allocate(JAVA_FLOAT, n);
        Sgd peft = new Sgd(List.of(new Parameter("p", Shape.of(n), value, grad)), 0.9, 0.01);
        MemorySegment hostValue = hostBuffer(start);
        MemorySegment buffer = arena.allocate(JAVA_FLOAT, n);
        for (int t = 1; t <= 3; t++) {
            MemorySegment.copy(uniform(n, 1), 0, grad, JAVA_FLOAT, 0, n);
            peft.step(0.05);
            host.sgd(hostValue, grad, buffer, n, 0.05, 0.9, 0.01, t == 1);
            assertClose(read(value), read(hostValue), magnitudes(read(value)), "sgd step " + t);
        }
    }

    /** Two steps, so that the second starts from moments the first wrote. */
    @Test
    void adamwAgainstPeft() {
        int n = 129;
        double lr = 1e-2;
        float[] start = uniform(n, 1);
        MemorySegment value = hostBuffer(start);
        MemorySegment grad = arena.allocate(JAVA_FLOAT, n);
        AdamW peft = new AdamW(List.of(new Parameter("p", Shape.of(n), value, grad)), 0.9, 0.999, 1e-8, 0.01);

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
