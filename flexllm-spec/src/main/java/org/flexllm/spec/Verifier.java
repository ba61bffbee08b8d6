package org.flexllm.spec;

import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.random.RandomGenerator;
import org.flexllm.sampling.Sampler;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;

/**
 * Lossless verification of a token tree against the target's logits: the emitted tokens have exactly the
 * distribution non-speculative decoding gives them, greedy or sampled.
 *
 * <p><b>The rule.</b> A node's children are fixed before the target is consulted (every {@link Drafter}
 * proposes deterministically). At each level, from the root, the multi-candidate rule for deterministic
 * candidates walks the children c1, c2, ...: accept {@code c_i} with probability
 * {@code p(c_i) / (1 − p(c_1) − … − p(c_{i−1}))}, where p is the target's processed distribution at the node
 * (repetition penalty, temperature, top-k, top-p, min-p: {@link Sampler#distribution}); on rejection remove
 * {@code c_i} and renormalise; when every child is rejected, sample from p with the tried children removed,
 * which is the bonus token. Child {@code c_i} is thus accepted with probability exactly {@code p(c_i)}, and
 * a token that is no child comes out with probability {@code p(t)}: the level emits a token distributed as p.
 *
 * <p>That walk has the same outcome distribution as drawing one token {@code x ~ p} and descending into the
 * child holding x, or emitting x as the bonus when no child holds it; the verifier does exactly that, with
 * {@link Sampler#choose}. So each level takes one uniform draw from the request's generator, as a
 * non-speculative step does, and a seeded request emits the very same tokens with speculation as without it.
 * Greedy verification is the special case where p is one-hot at the argmax: the accepted path is what greedy
 * decoding produces, token for token, and the bonus token is the next greedy token.
 *
 * <p>Drafts whose children are themselves sampled (a draft model sampling rather than taking its top-k) need
 * SpecInfer's residual rule instead, which compares against the draft's probabilities; no drafter here needs it.
 *
 * <p>One verifier per engine thread: it keeps the sampler's scratch. Not thread-safe.
 */
public final class Verifier {
    private final Sampler sampler;

    /** A verifier for a vocabulary of {@code vocabSize} ids. */
    public Verifier(int vocabSize) {
        this.sampler = new Sampler(vocabSize);
    }

    /**
     * Verifies one request's tree.
     *
     * @param tree    the verified tree; its root is the request's last committed token
     * @param logits  the target's logits row at node i: its distribution of the token after node i
     * @param params  the request's sampling settings
     * @param history the ids the request has seen through its root; each accepted node's token is added as the
     *                walk descends, so the penalties see it, and taken back at the end: the engine commits them
     * @param random  the request's generator; one draw per level when sampling, none when greedy
     */
    public Verification verify(TokenTree tree, IntFunction<float[]> logits, SamplingParams params,
                               TokenHistory history, RandomGenerator random) {
        int[] path = new int[tree.size() - 1];
        int accepted = 0;
        int node = 0;
        int committed = history.generated();
        try {
            while (true) {
                int next = sampler.choose(logits.apply(node), params, history, random);
                int child = tree.child(node, next);
                if (child < 0) {
                    return verification(tree, path, accepted, next);
                }
                path[accepted++] = child;
                history.add(tree.token(child));
                node = child;
            }
        } finally {
            history.truncate(committed);
        }
    }

    private static Verification verification(TokenTree tree, int[] path, int accepted, int bonus) {
        int[] nodes = Arrays.copyOf(path, accepted);
        int[] tokens = new int[accepted + 1];
        for (int i = 0; i < accepted; i++) {
            tokens[i] = tree.token(nodes[i]);
        }
        tokens[accepted] = bonus;
        return new Verification(nodes, tokens);
    }
}
