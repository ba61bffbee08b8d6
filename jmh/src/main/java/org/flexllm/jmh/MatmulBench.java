package org.flexllm.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.flexllm.backend.cpu.Matmul;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link Matmul} on Llama-3.2-1B shapes ({@code out x in}: k/v_proj, q/o_proj, gate/up_proj, down_proj,
 * lm_head) and SmolLM2-135M's down_proj, with the weights stored in every dtype (llama.cpp's quantized blocks
 * included). n = 1 is decode (memory-bound: weight bytes / time against the
 * machine's read bandwidth), n = 32 batched decode and n = 512 prefill (arithmetic-bound: 2·n·out·in / time
 * against its GEMM rate). {@link Pass#BACKWARD} is the same product's backward, {@code dx = dy·W}, the finetuning
 * pass through a frozen Linear: the same FLOPs, measured right after the forward on the same shape.
 *
 * <p>As in a forward pass, the weights come from memory, not from cache: each call takes the next of as
 * many copies of W as fill {@value #WEIGHT_POOL_BYTES} bytes, more than this machine's last-level cache.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {
    private static final long WEIGHT_POOL_BYTES = 1L << 30;

    @Param({"BF16", "F16", "F32", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public DType dtype;

    @Param({"1", "32", "512"})
    public int n;

    @Param({"512x2048", "2048x2048", "8192x2048", "2048x8192", "128256x2048", "576x1536"})
    public String matrix;

    @Param({"FORWARD", "BACKWARD"})
    public Pass pass;

    /** Which product: {@code y = x·Wᵀ}, or its gradient {@code dx = dy·W} (y stands for dy and x for dx). */
    public enum Pass { FORWARD, BACKWARD }

    private Arena arena;
    private Tensor[] weights;
    private MemorySegment x;
    private MemorySegment y;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = matrix.split("x");
        int out = Integer.parseInt(dims[0]);
        int in = Integer.parseInt(dims[1]);
        long bytes = dtype.bytes((long) out * in);
        int copies = (int) Math.max(1, WEIGHT_POOL_BYTES / bytes);
        arena = Arena.ofShared();
        MemorySegment pool = randomWeights(copies * bytes, in, new Random(42));
        weights = new Tensor[copies];
        for (int c = 0; c < copies; c++) {
            weights[c] = new Tensor("w" + c, dtype, Shape.of(out, in), pool.asSlice(c * bytes, bytes));
        }
        x = arena.allocate((long) n * in * Float.BYTES, 64);
        Random random = new Random(7);
        for (long i = 0; i < (long) n * in; i++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() * 2 - 1);
        }
        y = arena.allocate((long) n * out * Float.BYTES, 64);
    }

    /**
     * Values in [-1, 1) in the benchmark's dtype: random rows filling about 16 MiB, repeated (whole rows, so that
     * quantized blocks stay aligned).
     */
    private MemorySegment randomWeights(long bytes, int in, Random random) {
        MemorySegment pool = arena.allocate(bytes, 64);
        long rowBytes = dtype.bytes(in);
        int rows = (int) Math.max(1, Math.min(bytes, 16L << 20) / rowBytes);
        float[] row = new float[in];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < in; k++) {
                row[k] = random.nextFloat() * 2 - 1;
            }
            DTypes.writeRow(dtype, row, pool, r);
        }
        long blockBytes = rows * rowBytes;
        for (long at = blockBytes; at < bytes; at += blockBytes) {
            MemorySegment.copy(pool, 0, pool, at, Math.min(blockBytes, bytes - at));
        }
        return pool;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void matmul() {
        if (pass == Pass.FORWARD) {
            Matmul.matmul(x, n, weights[next], y, false);
        } else {
            Matmul.transposed(y, n, weights[next], x, false);
        }
        next = (next + 1) % weights.length;
    }
}
