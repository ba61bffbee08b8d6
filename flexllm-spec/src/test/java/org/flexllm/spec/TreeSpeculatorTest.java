package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.flexllm.api.Slo;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.flexllm.speculation.Decoding;
import org.flexllm.speculation.DraftTree;
import org.flexllm.speculation.TreeRound;
import org.junit.jupiter.api.Test;

/** AdaServe's surplus goes only to nodes that raise the expected tokens per millisecond. */
class TreeSpeculatorTest {
    /** A chain whose nodes the target accepts with path probabilities 0.9, 0.72, 0.36, 0.036. */

    private static TokenTree chain() {
        TokenTree.Builder b = TokenTree.builder(5);
        int parent = 0;
        double logp = 0;
        for (double p : new double[] {0.9, 0.8, 0.5, 0.1}) {
            logp += Math.log(p);
            parent = b.add(parent, 10 + parent, logp);
        }
        return b.build().inHeapOrder();
    }

    @Test
    void cheapTreeTokensSpendTheWholeBudget() {
        assertEquals(5, proposedNodes(1.0), "t ms per tree token beside a 100 ms decode: every node pays");
    }

    @Test
    void costlyTreeTokensStopWhereTheRateStopsRising() {
        // Expected tokens / ms with t tree tokens at 100 + 50·t ms: 1/100, 1.9/150, 2.62/200, 2.98/250, 3.016/300:
        // the best is two tree tokens, three nodes with the root.
        assertEquals(3, proposedNodes(50.0));
    }

    private static int proposedNodes(double msPerTreeToken) {
        TokenTree candidates = chain();
        var speculator = new TreeSpeculator(requests -> new TokenTree[] {candidates}, SpecPolicy.ADASERVE, 32);
        var round = new Round(msPerTreeToken);
        speculator.draft(round);
        return round.proposed.get(0).size();
    }

    private static final class Round implements TreeRound {
        final double msPerTreeToken;
        final List<DraftTree> proposed = new ArrayList<>();

        Round(double msPerTreeToken) {
            this.msPerTreeToken = msPerTreeToken;
        }

        @Override public int size() { return 1; }
        @Override public Decoding request(int index) { return DECODING; }
        @Override public void propose(int index, DraftTree tree) { proposed.add(tree); }
        @Override public long nowNanos() { return 0; }
        @Override public int budget() { return 8; }
        @Override public double predictedMs(int treeTokens) { return 100 + msPerTreeToken * treeTokens; }
        @Override public boolean surplus() { return true; }
    }

    /** A request far ahead of a loose TPOT: it needs nothing, so every node beyond the root is surplus. */
    private static final Decoding DECODING = new Decoding() {
        @Override public long id() { return 1; }
        @Override public int length() { return 1; }
        @Override public int token(int position) { return 5; }
        @Override public int promptLength() { return 1; }
        @Override public int generated() { return 10; }
        @Override public long firstTokenNanos() { return 0; }
        @Override public Slo slo() { return new Slo(1000, 1e6); }
        @Override public SamplingParams params() { return SamplingParams.builder().temperature(0).build(); }
        @Override public TokenHistory history() { return new TokenHistory(32); }
        @Override public RandomGenerator random() { return RandomGenerator.of("L64X128MixRandom"); }
    };
}
