package org.flexllm.sampling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sampling allocates nothing per token once compiled. Runs in the JVM of the hot-path allocation execution (see
 * the pom): after thousands of other tests, call-site profiles that saw tiny vocabularies make C2 leave the exp
 * kernel out of line, and a vector passed out of line is boxed.
 */
class SamplerAllocationTest {
    private static final int VOCAB = 1000;
    private final Sampler sampler = new Sampler(VOCAB);

    static Stream<Arguments> everyPath() {
        return Stream.of(
                Arguments.of("greedy", SamplingParams.greedy()),
                Arguments.of("greedy with penalty", SamplingParams.greedy().toBuilder().repetitionPenalty(1.2).build()),
                Arguments.of("every penalty", SamplingParams.builder().repetitionPenalty(1.2).presencePenalty(0.4)
                        .frequencyPenalty(0.3).build()),
                Arguments.of("temperature", SamplingParams.builder().temperature(0.8).build()),
                Arguments.of("top-p over the vocabulary", SamplingParams.builder().topP(0.99).build()),
                Arguments.of("top-k, top-p, min-p", SamplingParams.builder().topK(40).topP(0.9).minP(0.05).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyPath")
    void chooseAllocatesNothing(String name, SamplingParams params) {
        float[] row = ReferenceDistribution.gaussianRow(VOCAB, 2, 13);
        TokenHistory history = new TokenHistory(VOCAB);
        history.addPrompt(IntStream.range(0, 100).toArray());
        IntStream.range(0, 300).forEach(i -> history.add(50 + i % 120));
        RandomGenerator random = generator(3);
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        int calls = 1000;
        // Vector API code allocates until C2 has compiled it, which takes longer on a busy machine: the claim
        // is about the steady state, so the quietest of up to 100 rounds counts.
        long fewest = Long.MAX_VALUE;
        for (int round = 0; round < 100 && fewest >= calls; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                sampler.choose(row, params, history, random);
            }
            fewest = Math.min(fewest, threads.getCurrentThreadAllocatedBytes() - before);
        }
        // Any per-call object would cost at least 16 bytes a call; less than one byte a call is noise.
        assertTrue(fewest < calls, name + ": " + fewest + " bytes over " + calls + " calls");
    }

    private static RandomGenerator generator(long seed) {
        return new RandomSource(seed).forRequest(SamplingParams.builder().seed(seed).build());
    }
}
