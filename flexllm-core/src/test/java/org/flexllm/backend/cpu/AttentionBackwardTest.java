package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.flexllm.backend.AttentionBatch;
import org.flexllm.backend.KvLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionBackwardTest {
    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /** A sequence of {@code n} tokens whose keys and values sit in a paged cache under a shuffled block table. */
    private record Setup(AttentionBatch batch, KvLayer layer, MemorySegment q, MemorySegment dOut, MemorySegment keys,
                         MemorySegment values) {

        static Setup of(Arena arena, Random random, int n, int heads, int kvHeads, int headDim, int blockSize) {
            int kvDim = kvHeads * headDim;
            int blocks = Math.ceilDiv(n, blockSize) + 3;
            List<Integer> shuffled = new ArrayList<>();
            for (int i = 0; i < blocks; i++) {
                shuffled.add(i);
            }
            Collections.shuffle(shuffled, random);
            int[] table = shuffled.stream().mapToInt(Integer::intValue).toArray();
            int[] slot = new int[n];
            int[] visible = new int[n];
            for (int t = 0; t < n; t++) {
                slot[t] = AttentionBatch.slotOf(table, t, blockSize);
                visible[t] = t + 1;
            }
            AttentionBatch batch = new AttentionBatch(heads, kvHeads, headDim, blockSize, n, slot, new int[n], visible,
                    new int[][] {table});
            // Random cache contents everywhere, so that a read of a wrong slot shows.
            long cacheFloats = (long) blocks * blockSize * kvDim;
            KvLayer layer = new KvLayer(TestData.floats(arena, random, cacheFloats),
                    TestData.floats(arena, random, cacheFloats), kvDim);
            MemorySegment keys = TestData.floats(arena, random, (long) n * kvDim);
            MemorySegment values = TestData.floats(arena, random, (long) n * kvDim);
            PagedAttention.storeKv(keys, values, batch, layer);
            return new Setup(batch, layer, TestData.floats(arena, random, (long) n * heads * headDim),
                    TestData.floats(arena, random, (long) n * heads * headDim), keys, values);
        }

        int qDim() {
            return batch.heads() * batch.headDim();
        }
    }

    /** The gradients in double precision, from the dense keys and values. */
    private record Reference(double[] dq, double[] dKeys, double[] dValues) {

        static Reference of(Setup s) {
            AttentionBatch b = s.batch();
            int n = b.n();
            int hd = b.headDim();
            int kvDim = b.kvHeads() * hd;
            double scale = 1 / Math.sqrt(hd);
            Reference r = new Reference(new double[n * s.qDim()], new double[n * kvDim], new double[n * kvDim]);
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < b.heads(); h++) {
                    int qh = t * s.qDim() + h * hd;
                    int kvHead = h / (b.heads() / b.kvHeads()) * hd;
                    double[] p = new double[t + 1];
                    double[] dp = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        p[j] = scale * dot(s.q(), qh, s.keys(), j * kvDim + kvHead, hd);
                        dp[j] = dot(s.dOut(), qh, s.values(), j * kvDim + kvHead, hd);
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    double rowDot = 0;
                    for (int j = 0; j <= t; j++) {
                        p[j] /= sum;
                        rowDot += p[j] * dp[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        double ds = p[j] * (dp[j] - rowDot);
                        for (int i = 0; i < hd; i++) {
                            int kv = j * kvDim + kvHead + i;
                            r.dq[qh + i] += scale * ds * TestData.get(s.keys(), kv);
                            r.dKeys[kv] += scale * ds * TestData.get(s.q(), qh + i);
                            r.dValues[kv] += p[j] * TestData.get(s.dOut(), qh + i);
                        }
                    }
                }
            }
            return r;
        }

        private static double dot(MemorySegment a, int aAt, MemorySegment b, int bAt, int len) {
            double sum = 0;
            for (int i = 0; i < len; i++) {
                sum += (double) TestData.get(a, aAt + i) * TestData.get(b, bAt + i);
            }
            return sum;
        }
    }

    /**
     * A backward slice smaller than a layer: the queries in chunks of {@code chunk} rows, the last chunk first, each
     * chunk's run seeing the keys up to its last row; together they give the whole sequence's gradients.
     */
    @ParameterizedTest(name = "n={0} chunk={1}")
    @CsvSource({"37, 1", "37, 10", "37, 37", "300, 7", "600, 260"})
    void chunksFromTheLastAddUpToTheWholeGradient(int n, int chunk) {
        try (Arena arena = Arena.ofShared()) {
            Setup s = Setup.of(arena, new Random(n + chunk), n, 4, 2, 8, 5);
            int kvDim = s.layer().kvDim();
            int qDim = s.qDim();
            MemorySegment dq = arena.allocate((long) n * qDim * Float.BYTES);
            MemorySegment dKeys = arena.allocate((long) n * kvDim * Float.BYTES);
            MemorySegment dValues = arena.allocate((long) n * kvDim * Float.BYTES);
            AttentionBatch b = s.batch();
            for (int end = n; end > 0; end -= chunk) {
                int first = Math.max(0, end - chunk);
                int count = end - first;
                AttentionBatch rows = new AttentionBatch(b.heads(), b.kvHeads(), b.headDim(), b.blockSize(), count,
                        Arrays.copyOfRange(b.slot(), first, end), new int[count],
                        Arrays.copyOfRange(b.visible(), first, end), b.blockTables());
                backend.attentionBackward(rowsOf(s.q(), first, qDim), rowsOf(s.dOut(), first, qDim), rows, s.layer(),
                        rowsOf(dq, first, qDim), dKeys, dValues);
            }

            Reference expected = Reference.of(s);
            assertClose(expected.dq(), dq, "dq");
            assertClose(expected.dKeys(), dKeys, "dKeys");
            assertClose(expected.dValues(), dValues, "dValues");
        }
    }

    private static MemorySegment rowsOf(MemorySegment m, int first, int width) {
        return m.asSlice((long) first * width * Float.BYTES);
    }

    private static double[] doubles(MemorySegment m) {
        double[] d = new double[(int) (m.byteSize() / Float.BYTES)];
        for (int i = 0; i < d.length; i++) {
            d[i] = TestData.get(m, i);
        }
        return d;
    }

    private static double[] plus(double[] a, double[] b) {
        double[] sum = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            sum[i] = a[i] + b[i];
        }
        return sum;
    }

    /**
     * Central differences of {@code Σ dOut ⊙ attention(q)} through the forward kernel, perturbing elements of q and
     * of the cached keys and values.
     */
    @Test
    void matchesFiniteDifferencesOfTheForwardKernel() {
        int n = 9;
        float h = 1e-2f;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(11);
            Setup s = Setup.of(arena, random, n, 4, 2, 8, 3);
            int kvDim = s.layer().kvDim();
            MemorySegment dq = arena.allocate((long) n * s.qDim() * Float.BYTES);
            MemorySegment dKeys = arena.allocate((long) n * kvDim * Float.BYTES);
            MemorySegment dValues = arena.allocate((long) n * kvDim * Float.BYTES);
            MemorySegment out = arena.allocate((long) n * s.qDim() * Float.BYTES);
            backend.attentionBackward(s.q(), s.dOut(), s.batch(), s.layer(), dq, dKeys, dValues);

            for (int trial = 0; trial < 40; trial++) {
                int t = random.nextInt(n);
                long qi = (long) t * s.qDim() + random.nextInt(s.qDim());
                assertDifference(s, out, s.q(), qi, h, TestData.get(dq, qi), "dq[" + qi + "]");
                long kvi = (long) t * kvDim + random.nextInt(kvDim);
                long cached = (long) s.batch().slot()[t] * kvDim + kvi % kvDim;
                assertDifference(s, out, s.layer().keys(), cached, h, TestData.get(dKeys, kvi), "dKeys[" + kvi + "]");
                assertDifference(s, out, s.layer().values(), cached, h, TestData.get(dValues, kvi),
                        "dValues[" + kvi + "]");
            }
        }
    }

    private void assertDifference(Setup s, MemorySegment out, MemorySegment v, long i, float h, float gradient,
                                  String what) {
        float saved = TestData.get(v, i);
        VectorMath.set(v, i, saved + h);
        backend.attention(s.q(), s.batch(), s.layer(), out);
        double plus = NormsTest.dot(s.dOut(), out, out.byteSize() / Float.BYTES);
        VectorMath.set(v, i, saved - h);
        backend.attention(s.q(), s.batch(), s.layer(), out);
        double minus = NormsTest.dot(s.dOut(), out, out.byteSize() / Float.BYTES);
        VectorMath.set(v, i, saved);
        assertEquals((plus - minus) / (2 * h), gradient, 2e-3, what);
    }

    private static void assertClose(double[] expected, MemorySegment actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], TestData.get(actual, i), 1e-5 * (1 + Math.abs(expected[i])),
                    what + "[" + i + "]");
        }
    }
}
