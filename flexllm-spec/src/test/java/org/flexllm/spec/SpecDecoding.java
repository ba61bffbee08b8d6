package org.flexllm.spec;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;

/**
 * A speculative decoding loop over a {@link ToyModel} target, as the engine runs it for one request: build the
 * tree from the committed tokens, score every node with the target, verify, commit the emitted tokens.
 */
final class SpecDecoding {
    /** Turns a scored tree into the tokens the request emits; {@link Verifier} is the lossless one. */
    interface Rule {
        int[] emit(TokenTree tree, float[][] rows, SamplingParams params, TokenHistory history, RandomGenerator random);
    }

    private final ToyModel target;
    private final Drafter drafter;
    private final TreeShape shape;
    private final Rule rule;
    private final TreeConstruction construction;
    private int iterations;

    SpecDecoding(ToyModel target, Drafter drafter, TreeShape shape, Rule rule) {
        this.target = target;
        this.drafter = drafter;
        this.shape = shape;
        this.construction = new TreeConstruction(shape);
        this.rule = rule;
    }

    /** The lossless rule of {@link Verifier}. */
    static Rule lossless(int vocab) {
        Verifier verifier = new Verifier(vocab);
        return (tree, rows, params, history, random) ->
                verifier.verify(tree, i -> rows[i], params, history, random).tokens();
    }

    /** The first {@code count} tokens generated after {@code prompt}. */
    int[] generate(int[] prompt, int count, SamplingParams params, RandomGenerator random) {
        int[] sequence = Arrays.copyOf(prompt, prompt.length + count + shape.maxNodes());
        int length = prompt.length;
        TokenHistory history = new TokenHistory(target.vocab());
        history.addPrompt(prompt);
        while (length < prompt.length + count) {
            iterations++;
            TokenTree tree = construction.build(drafter, sequence, length);
            float[][] rows = target.treeLogits(tree, Arrays.copyOf(sequence, length));
            for (int token : rule.emit(tree, rows, params, history, random)) {
                sequence[length++] = token;
                history.add(token);
            }
        }
        return Arrays.copyOfRange(sequence, prompt.length, prompt.length + count);
    }

    /** How many verification steps {@link #generate} has taken so far. */
    int iterations() {
        return iterations;
    }
}
